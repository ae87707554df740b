/** memory-cache: exact-match answers in process memory, LRU-bounded by entries and bytes, with a TTL. */
import * as v from 'valibot'
import { definePlugin } from 'switchyard/plugin'
import type { CacheEntry } from 'switchyard/plugin'

interface Stored {
  readonly entry: CacheEntry
  readonly bytes: number
  readonly expiresAt: number
}

/** Bytes an entry holds: the UTF-8 size of its body chunks (metadata is small and bounded). */
function entryBytes(entry: CacheEntry): number {
  let bytes = 0
  for (const chunk of entry.chunks) bytes += Buffer.byteLength(chunk)
  return bytes
}

export default definePlugin({
  name: 'memory-cache',
  kind: 'cache',
  options: v.strictObject({
    ttlMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 300_000),
    maxEntries: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 1_000),
    maxBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 64 * 1024 * 1024),
    /** Also cache requests with temperature > 0 and no seed (they would otherwise bypass this cache). */
    cacheNondeterministic: v.optional(v.boolean(), false),
  }),
  setup: ({ options }) => {
    // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
    const entries = new Map<string, Stored>()
    let totalBytes = 0

    const drop = (key: string) => {
      const stored = entries.get(key)
      if (!stored) return
      entries.delete(key)
      totalBytes -= stored.bytes
    }

    const evict = () => {
      while (entries.size > options.maxEntries || totalBytes > options.maxBytes) {
        const oldest = entries.keys().next()
        if (oldest.done) return
        drop(oldest.value)
      }
    }

    return {
      cacheNondeterministic: options.cacheNondeterministic,
      inProcess: true,
      get(key) {
        const stored = entries.get(key)
        if (!stored) return undefined
        if (stored.expiresAt <= Date.now()) {
          drop(key)
          return undefined
        }
        entries.delete(key)
        entries.set(key, stored)
        return stored.entry
      },
      set(key, entry) {
        const bytes = entryBytes(entry)
        drop(key)
        if (bytes > options.maxBytes) return
        entries.set(key, { entry, bytes, expiresAt: Date.now() + options.ttlMs })
        totalBytes += bytes
        evict()
      },
      close() {
        entries.clear()
        totalBytes = 0
      },
    }
  },
})
