/** What a cache entry read back from a shared store must look like to be served; anything else is a miss. */
import * as v from 'valibot'

export const StoredCacheEntry = v.object({
  status: v.number(),
  contentType: v.string(),
  model: v.string(),
  backend: v.string(),
  chunks: v.array(v.string()),
  createdAt: v.number(),
})
