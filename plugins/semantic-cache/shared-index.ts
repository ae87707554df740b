/**
 * semantic-cache entries shared through Redis: each entry is written with a TTL and announced on a channel, and
 * every instance mirrors the shared set into its local index (loaded when it connects, kept current by the
 * announcements). Lookups never touch Redis; while Redis is away new entries stay local and are written when it is back.
 */
import { RedisClient } from 'bun'
import type { Logger, StateBackend } from 'switchyard/plugin'
import { createRedisConnection, messageOf, redactedUrl, redisStateBackend } from 'switchyard/plugin'
import type { LocalIndex, Remembered } from './local-index.ts'
import { decodeEntry, encodeEntry } from './shared-record.ts'

export interface SharedIndexOptions {
  readonly url: string
  /** Keys and channel start with this; it names the embedding space, so instances with another embedding never mix. */
  readonly namespace: string
  readonly timeoutMs: number
  readonly reconnectMs: number
  readonly maxEntries: number
}

export interface SharedIndex {
  /** Writes and announces an entry the local index just took; never throws, waits at most `timeoutMs`. */
  write(key: string, scope: string, item: Remembered): Promise<void>
  stateBackend(): StateBackend
  close(): Promise<void>
}

const COMPONENT = 'semantic-cache'
/** Entries per MGET when loading the shared set. */
const LOAD_BATCH = 100

/**
 * One atomic write: the entry with PX expiry, its key in the index (scored by expiry in Redis's own clock, so
 * instance clocks do not matter), expired and surplus index members dropped (surplus entries too), the index kept
 * alive as long as its longest-lived entry, then the announcement.
 * KEYS: entry, index. ARGV: value, ttl ms, max entries, cache key, entry key prefix, channel.
 */
const STORE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
redis.call('ZADD', KEYS[2], now + ttl, ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[3])
if over > 0 then
  for _, k in ipairs(redis.call('ZRANGE', KEYS[2], 0, over - 1)) do redis.call('DEL', ARGV[5] .. k) end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, over - 1)
end
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
return redis.call('PUBLISH', ARGV[6], ARGV[1])
`
const STORE_SHA = new Bun.CryptoHasher('sha1').update(STORE_SCRIPT).digest('hex')

const within = <T>(work: Promise<T>, ms: number, what: string): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis ${what} took longer than ${ms} ms`)), ms)
    work.then(resolve, reject).finally(() => clearTimeout(timer))
  })

/** Connects, subscribes and loads the shared set before it returns; Redis being away only makes it start local. */
export async function startSharedIndex(options: SharedIndexOptions, index: LocalIndex, log: Logger): Promise<SharedIndex> {
  const writer = crypto.randomUUID()
  const entryPrefix = `${options.namespace}e:`
  const indexKey = `${options.namespace}entries`
  const channel = `${options.namespace}added`
  const redis = createRedisConnection(options)
  const redisState = redisStateBackend(redis, COMPONENT)
  let subscriber: RedisClient | undefined
  /** Subscribed and loaded since the last (re)connection: only then does this instance see every other's entries. */
  let synced = false
  let syncError: string | undefined
  let busy: Promise<void> | undefined
  let closed = false
  /** Keys taken while Redis was away, oldest first, to be written when it is back (bounded like the index). */
  const pending = new Set<string>()

  const onMessage = (message: string) => {
    const shared = decodeEntry(message)
    if (!shared || shared.writer === writer || shared.item.expiresAt <= Date.now()) return
    index.add(shared.key, shared.scope, shared.item, options.maxEntries)
  }

  const store = async (key: string, value: string, ttlMs: number) => {
    const args = ['2', entryPrefix + key, indexKey, value, String(ttlMs), String(options.maxEntries), key, entryPrefix, channel]
    await redis.run(async (c) => {
      try {
        return await c.send('EVALSHA', [STORE_SHA, ...args])
      } catch (error) {
        if (!messageOf(error).includes('NOSCRIPT')) throw error
        return await c.send('EVAL', [STORE_SCRIPT, ...args])
      }
    })
  }

  const write = async (key: string, scope: string, item: Remembered) => {
    pending.delete(key)
    try {
      // What is left of its life: an entry taken while Redis was away is written later with less.
      const ttlMs = Math.ceil(item.expiresAt - Date.now())
      if (ttlMs > 0) await store(key, encodeEntry({ key, scope, item, writer }), ttlMs)
    } catch {
      pending.add(key)
      if (pending.size > options.maxEntries) pending.delete(pending.values().next().value as string)
    }
  }

  const flush = async () => {
    for (const key of [...pending]) {
      const live = index.entry(key)
      if (!live) {
        pending.delete(key)
        continue
      }
      await write(key, live.scope, live.item)
      if (pending.has(key)) return
    }
  }

  /** The newest `maxEntries` shared entries into the local index, oldest first so recency carries over. */
  const load = async () => {
    const keys = (await redis.run((c) => c.send('ZRANGE', [indexKey, '0', String(options.maxEntries - 1), 'REV']))) as string[]
    const fresh = keys.filter((k) => !index.entry(k)).reverse()
    for (let i = 0; i < fresh.length; i += LOAD_BATCH) {
      const batch = fresh.slice(i, i + LOAD_BATCH)
      const values = (await redis.run((c) => c.send('MGET', batch.map((k) => entryPrefix + k)))) as (string | null)[]
      for (const raw of values) {
        const shared = raw === null ? undefined : decodeEntry(raw)
        if (shared && shared.item.expiresAt > Date.now()) index.add(shared.key, shared.scope, shared.item, options.maxEntries)
      }
    }
  }

  const drop = (client: RedisClient) => {
    if (subscriber === client) subscriber = undefined
    synced = false
    client.onclose = null
    client.close()
  }

  /** Subscribes first and loads second, so no entry announced in between is missed. */
  const sync = async () => {
    const client = new RedisClient(options.url, {
      connectionTimeout: options.timeoutMs, autoReconnect: false, enableOfflineQueue: false, enableAutoPipelining: false,
    })
    client.onclose = () => {
      if (subscriber !== client) return
      subscriber = undefined
      synced = false
      syncError = 'subscription to new entries lost'
    }
    try {
      await within(client.connect(), options.timeoutMs, 'connect')
      await within(client.subscribe(channel, onMessage), options.timeoutMs, 'subscribe')
      if (closed) return drop(client)
      subscriber = client
      await load()
    } catch (error) {
      syncError = messageOf(error)
      drop(client)
      throw error
    }
    synced = true
    syncError = undefined
    await flush()
  }

  const tick = () => {
    if (closed || busy) return
    const work = !subscriber ? sync() : pending.size > 0 ? flush() : undefined
    busy = work?.catch(() => {}).finally(() => (busy = undefined))
  }

  try {
    await sync()
  } catch (error) {
    log.warn('redis not reachable at startup; semantic cache entries stay local until it is', { url: redactedUrl(options.url), error: messageOf(error) })
  }
  const timer = setInterval(tick, options.reconnectMs)
  timer.unref?.()

  return {
    write,
    stateBackend() {
      const state = redisState()
      if (state.mode === 'local' || synced) return state
      return { component: COMPONENT, mode: 'local', detail: syncError ?? 'not subscribed to new entries' }
    },
    async close() {
      closed = true
      clearInterval(timer)
      await busy
      const client = subscriber
      if (client) {
        await within(client.unsubscribe(), options.timeoutMs, 'unsubscribe').catch(() => {})
        drop(client)
      }
      redis.close()
    },
  }
}
