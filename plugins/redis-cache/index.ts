/** redis-cache: exact-match answers shared by several gateways through Redis (Bun's client), expiring via PX. */
import * as v from 'valibot'
import { definePlugin } from 'switchyard/plugin'
import type { CacheEntry } from 'switchyard/plugin'
import { StoredCacheEntry, createRedisConnection, parseJson, redactedUrl, redisStateBackend } from 'switchyard/plugin'


export default definePlugin({
  name: 'redis-cache',
  kind: 'cache',
  options: v.strictObject({
    url: v.optional(v.pipe(v.string(), v.regex(/^(redis|rediss|valkey|valkeys):\/\//, 'expected a redis:// URL')), 'redis://127.0.0.1:6379'),
    ttlMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 3_600_000),
    prefix: v.optional(v.string(), 'switchyard:'),
    /** Larger answers are not stored (Redis values are held in memory on every read). */
    maxValueBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 1024 * 1024),
    /** Per command, and per connection attempt: a hung Redis costs a request at most this long. */
    timeoutMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 250),
    /** After a failure, Redis is bypassed this long before the next connection attempt. */
    reconnectMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 1_000),
    cacheNondeterministic: v.optional(v.boolean(), false),
  }),
  setup: async ({ options, log }) => {
    const redis = createRedisConnection(options)
    // Redis being down at startup is not fatal: requests bypass the cache until it is reachable.
    await redis.connect().catch((error: unknown) => {
      log.warn('redis not reachable at startup; cache bypassed until it is', { url: redactedUrl(options.url), error: String(error) })
    })
    return {
      stateBackend: redisStateBackend(redis, 'cache'),
      cacheNondeterministic: options.cacheNondeterministic,
      async get(key) {
        const raw = await redis.run((c) => c.get(options.prefix + key))
        if (raw === null) return undefined
        // Not JSON parses as undefined, which the schema rejects: a miss.
        const entry = v.safeParse(StoredCacheEntry, parseJson(raw))
        return entry.success ? (entry.output satisfies CacheEntry) : undefined
      },
      async set(key, entry) {
        const { similarity: _, ...stored } = entry
        const value = JSON.stringify(stored)
        if (Buffer.byteLength(value) > options.maxValueBytes) return
        await redis.run((c) => c.set(options.prefix + key, value, 'PX', options.ttlMs))
      },
      close() {
        redis.close()
      },
    }
  },
})
