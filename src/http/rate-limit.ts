/**
 * Per-key buckets (requests and tokens per minute): in this process, or in Redis (one atomic script per admission)
 * so gateway instances share them. An admission takes one request and reserves the request's tokens in one step;
 * the reservation is settled (refund or extra charge) when the answer ends. A key's token bucket admits while it
 * is above zero, so requests in flight can take it below zero by at most one request's reservation.
 */
import type { AuthConfig } from '../config/schema.ts'
import type { Logger, StateBackend } from '../plugin/types.ts'
import { createRedisConnection, redactedUrl } from '../plugin/redis-connection.ts'
import { messageOf } from '../errors.ts'

export interface KeyLimits {
  readonly requestsPerMinute?: number
  readonly tokensPerMinute?: number
}

/** Which limit refused an admission, and in how many seconds it would not. */
export interface Refusal {
  readonly refused: 'requestsPerMinute' | 'tokensPerMinute'
  readonly retryAfterS: number
}

/** An admitted request's hold on the token bucket. */
export interface Admitted {
  readonly refused?: undefined
  /** Move the token bucket by `delta` tokens after the fact: positive spends more, negative refunds (never above capacity). */
  adjust(delta: number): Promise<void>
}

export interface KeyBuckets {
  /** One atomic step: take one request and reserve `tokens`, or take nothing and say which limit refused. */
  admit(tokens: number): Promise<Admitted | Refusal>
  /** What `Admitted.adjust` does for a reservation made in these buckets. */
  adjust(delta: number): Promise<void>
}

/** An amount spent per UTC day (a team's GPU seconds): what today's is, and more of it. */
export interface DayCounter {
  spent(): Promise<number>
  add(amount: number): Promise<void>
}

/** The UTC day of `ms` (`2026-12-04`), and the seconds until the next one starts. */
export const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10)
export const secondsToNextDay = (ms: number): number => Math.ceil((86_400_000 - (ms % 86_400_000)) / 1000)

export interface BucketStore {
  /** The buckets of one key; `id` is a digest of the key, never the key itself. */
  forKey(id: string, limits: KeyLimits): KeyBuckets
  /** A per-day amount for `id` (a team's GPU seconds). */
  daily(id: string): DayCounter
  /** Buckets shared through Redis: `local` while Redis is away and each instance limits on its own. */
  stateBackend?(): StateBackend
  close(): void
}

/** A level refilled continuously up to `perMinute`, over a minute. */
function createLevel(perMinute: number, now: () => number) {
  let level = perMinute
  let at = now()
  const read = (t: number): number => {
    level = Math.min(perMinute, level + (Math.max(0, t - at) / 60_000) * perMinute)
    at = t
    return level
  }
  return {
    read,
    move(delta: number, t: number): void {
      level = Math.min(perMinute, read(t) + delta)
    },
  }
}

function createLocalKeyBuckets(limits: KeyLimits, now: () => number): KeyBuckets {
  const requestRate = limits.requestsPerMinute ?? 0
  const tokenRate = limits.tokensPerMinute ?? 0
  const requests = requestRate > 0 ? createLevel(requestRate, now) : undefined
  const tokens = tokenRate > 0 ? createLevel(tokenRate, now) : undefined
  const adjust = async (delta: number) => tokens?.move(-delta, now())
  const admitted: Admitted = { adjust }
  return {
    adjust,
    async admit(cost) {
      const t = now()
      const r = requests?.read(t) ?? 1
      if (r < 1) return { refused: 'requestsPerMinute', retryAfterS: ((1 - r) / requestRate) * 60 }
      const level = tokens?.read(t) ?? 1
      if (level <= 0) return { refused: 'tokensPerMinute', retryAfterS: (-level / tokenRate) * 60 }
      requests?.move(-1, t)
      tokens?.move(-cost, t)
      return admitted
    },
  }
}

function createLocalDaily(now: () => number): DayCounter {
  let day = dayOf(now())
  let total = 0
  const today = () => {
    const d = dayOf(now())
    if (d !== day) {
      day = d
      total = 0
    }
  }
  return {
    async spent() {
      today()
      return total
    },
    async add(amount) {
      today()
      total += amount
    },
  }
}

export function createLocalBuckets(now: () => number = Date.now): BucketStore {
  return { forKey: (_id, limits) => createLocalKeyBuckets(limits, now), daily: () => createLocalDaily(now), close() {} }
}

/**
 * KEYS[1] the requests bucket, KEYS[2] the tokens bucket. ARGV: now ms, mode ('admit' | 'adjust'), requests per
 * minute and tokens per minute (0: no such limit), tokens (the reservation, or the adjustment to spend).
 * Returns '0' when admitted (or adjusted), else '<limit> <seconds to wait>'. A bucket expires once it would have
 * refilled, so a key in debt stays in debt across a quiet spell.
 */
const SCRIPT = `
local now = tonumber(ARGV[1]); local mode = ARGV[2]
local rrate = tonumber(ARGV[3]); local trate = tonumber(ARGV[4]); local amount = tonumber(ARGV[5])
local function level(key, rate)
  local d = redis.call('HMGET', key, 'tokens', 'at')
  local v = tonumber(d[1]) or rate
  local at = tonumber(d[2]) or now
  return math.min(rate, v + math.max(0, now - at) / 60000 * rate)
end
local function save(key, rate, v)
  redis.call('HSET', key, 'tokens', tostring(v), 'at', tostring(now))
  redis.call('PEXPIRE', key, math.max(60000, math.ceil((rate - v) / rate * 60000) + 1000))
end
if mode == 'adjust' then
  if trate > 0 and amount ~= 0 then save(KEYS[2], trate, math.min(trate, level(KEYS[2], trate) - amount)) end
  return '0'
end
local r = 1
if rrate > 0 then r = level(KEYS[1], rrate) end
if r < 1 then return 'requestsPerMinute ' .. tostring((1 - r) / rrate * 60) end
local t = 1
if trate > 0 then t = level(KEYS[2], trate) end
if t <= 0 then return 'tokensPerMinute ' .. tostring(-t / trate * 60) end
if rrate > 0 then save(KEYS[1], rrate, r - 1) end
if trate > 0 then save(KEYS[2], trate, t - amount) end
return '0'
`

/** Buckets in Redis; while Redis is away, each key falls back to this process's own buckets (one warning per outage). */
export function createRedisBuckets(options: NonNullable<AuthConfig['redis']>, log: Logger, now: () => number = Date.now): BucketStore {
  const connection = createRedisConnection({ url: options.url, timeoutMs: options.timeoutMs, reconnectMs: 1_000 })
  const local = createLocalBuckets(now)
  let down = false
  let pingedAt = 0
  // Connected now, so the state reads true before the first request.
  void connection.connect().catch(() => {})
  /** The script's answer, or undefined when Redis is away (logged once per outage). */
  const run = async (keys: readonly [string, string], limits: KeyLimits, mode: 'admit' | 'adjust', amount: number): Promise<string | undefined> => {
    try {
      const args = [SCRIPT, '2', ...keys, String(now()), mode, String(limits.requestsPerMinute ?? 0), String(limits.tokensPerMinute ?? 0), String(amount)]
      const answer = String(await connection.run((c) => c.send('EVAL', args)))
      if (down) log.info('rate limits back in Redis', { url: redactedUrl(options.url) })
      down = false
      return answer
    } catch (error) {
      if (!down) log.warn('Redis unavailable for rate limits; limiting per instance until it returns', { url: redactedUrl(options.url), error: messageOf(error) })
      down = true
      return undefined
    }
  }
  return {
    forKey(id, limits) {
      const own = local.forKey(id, limits)
      const keys = [`${options.prefix}${id}:requests`, `${options.prefix}${id}:tokens`] as const
      // A reservation made in Redis is settled there (here while Redis is away); one made here stays here.
      const adjust = async (delta: number) => {
        if (delta === 0 || !limits.tokensPerMinute) return
        if ((await run(keys, limits, 'adjust', delta)) === undefined) await own.adjust(delta)
      }
      const admitted: Admitted = { adjust }
      return {
        adjust,
        async admit(cost) {
          const answer = await run(keys, limits, 'admit', cost)
          if (answer === undefined) return own.admit(cost)
          if (answer === '0') return admitted
          const [refused, wait] = answer.split(' ')
          return { refused: refused as Refusal['refused'], retryAfterS: Number(wait) }
        },
      }
    },
    daily(id) {
      const own = createLocalDaily(now)
      const key = () => `${options.prefix}${id}:day:${dayOf(now())}`
      return {
        async spent() {
          try {
            const value = await connection.run((c) => c.send('GET', [key()]))
            down = false
            return Number(value ?? 0) + (await own.spent())
          } catch {
            down = true
            return own.spent()
          }
        },
        async add(amount) {
          if (amount <= 0) return
          try {
            // Two days: the key outlives its day wherever the clock is.
            await connection.run((c) => c.send('EVAL', ["redis.call('INCRBYFLOAT', KEYS[1], ARGV[1]); redis.call('EXPIRE', KEYS[1], 172800); return 1", '1', key(), String(amount)]))
            down = false
          } catch {
            down = true
            await own.add(amount)
          }
        },
      }
    },
    stateBackend() {
      // Read every few seconds (health, metrics): a ping keeps the answer true while no request comes.
      if (now() - pingedAt > 5_000) {
        pingedAt = now()
        void connection.run((c) => c.send('PING', [])).then(
          () => (down = false),
          () => (down = true),
        )
      }
      const health = connection.health()
      return down || !health.ok ? { component: 'ratelimit', mode: 'local', detail: health.error } : { component: 'ratelimit', mode: 'shared' }
    },
    close: () => connection.close(),
  }
}
