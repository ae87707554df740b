/** Token buckets per client key: in this process, or in Redis (one atomic script) so gateway instances share them. */
import type { AuthConfig } from '../config/schema.ts'
import type { Logger } from '../plugin/types.ts'
import { createRedisConnection, redactedUrl } from '../plugin/redis-connection.ts'
import { messageOf } from '../errors.ts'

export interface Bucket {
  /** Take `cost` now: 0 when granted, else seconds until it would be. */
  take(cost: number): Promise<number>
  /** Spend `cost` after the fact (tokens used); the bucket may go negative. */
  charge(cost: number): Promise<void>
  /** Seconds until the bucket is out of debt (0 when it is not). */
  debt(): Promise<number>
}

export interface BucketStore {
  bucket(id: string, perMinute: number): Bucket
  close(): void
}

/** A bucket refilled continuously: `perMinute` capacity, refilled over a minute. */
function createLocalBucket(perMinute: number, now: () => number): Bucket {
  let tokens = perMinute
  let at = now()
  const refill = () => {
    const t = now()
    tokens = Math.min(perMinute, tokens + ((t - at) / 60_000) * perMinute)
    at = t
  }
  return {
    async take(cost) {
      refill()
      if (tokens >= cost) {
        tokens -= cost
        return 0
      }
      return ((cost - tokens) / perMinute) * 60
    },
    async charge(cost) {
      refill()
      tokens -= cost
    },
    async debt() {
      refill()
      return tokens >= 0 ? 0 : (-tokens / perMinute) * 60
    },
  }
}

export function createLocalBuckets(now: () => number = Date.now): BucketStore {
  return { bucket: (_id, perMinute) => createLocalBucket(perMinute, now), close() {} }
}

/**
 * KEYS[1] bucket; ARGV: perMinute, now ms, cost, mode ('take' | 'charge' | 'debt').
 * Returns the seconds to wait (0 when granted / not in debt), as a string.
 */
const SCRIPT = `
local rate = tonumber(ARGV[1]); local now = tonumber(ARGV[2]); local cost = tonumber(ARGV[3]); local mode = ARGV[4]
local d = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(d[1]) or rate
local at = tonumber(d[2]) or now
tokens = math.min(rate, tokens + (now - at) / 60000 * rate)
local wait = 0
if mode == 'take' then
  if tokens >= cost then tokens = tokens - cost else wait = (cost - tokens) / rate * 60 end
elseif mode == 'charge' then
  tokens = tokens - cost
elseif tokens < 0 then
  wait = -tokens / rate * 60
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], 120000)
return tostring(wait)
`

/** Buckets in Redis; while Redis is away, each bucket falls back to this process's own (one warning per outage). */
export function createRedisBuckets(options: NonNullable<AuthConfig['redis']>, log: Logger, now: () => number = Date.now): BucketStore {
  const connection = createRedisConnection({ url: options.url, timeoutMs: options.timeoutMs, reconnectMs: 1_000 })
  const local = createLocalBuckets(now)
  let down = false
  const run = async (id: string, perMinute: number, cost: number, mode: string, fallback: () => Promise<number>): Promise<number> => {
    try {
      const wait = await connection.run((c) => c.send('EVAL', [SCRIPT, '1', `${options.prefix}${id}`, String(perMinute), String(now()), String(cost), mode]))
      if (down) log.info('rate limits back in Redis', { url: redactedUrl(options.url) })
      down = false
      return Number(wait)
    } catch (error) {
      if (!down) log.warn('Redis unavailable for rate limits; limiting per instance until it returns', { url: redactedUrl(options.url), error: messageOf(error) })
      down = true
      return fallback()
    }
  }
  return {
    bucket(id, perMinute) {
      const own = local.bucket(id, perMinute)
      return {
        take: (cost) => run(id, perMinute, cost, 'take', () => own.take(cost)),
        charge: async (cost) => {
          await run(id, perMinute, cost, 'charge', async () => (await own.charge(cost), 0))
        },
        debt: () => run(id, perMinute, 0, 'debt', () => own.debt()),
      }
    },
    close: () => connection.close(),
  }
}
