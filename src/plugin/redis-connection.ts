/** For plugins and the core: a Redis connection that fails fast while Redis is away and reconnects in the background. */
import { RedisClient } from 'bun'
import type { StateBackend } from './types.ts'

export interface RedisConnectionOptions {
  readonly url: string
  readonly timeoutMs: number
  readonly reconnectMs: number
}

export interface RedisConnection {
  /** Runs `command` on a live connection within the timeout; throws at once while Redis is known to be away. */
  run<T>(command: (client: RedisClient) => Promise<T>): Promise<T>
  /** Connects now (setup waits for it so the first request already finds Redis). */
  connect(): Promise<void>
  /** Whether the last connection attempt or command reached Redis, and the last error while it did not. */
  health(): { readonly ok: boolean; readonly error?: string }
  close(): void
}

class RedisTimeoutError extends Error {
  override readonly name = 'RedisTimeoutError'
}

export function createRedisConnection(options: RedisConnectionOptions): RedisConnection {
  let client: RedisClient | undefined
  let connecting: Promise<RedisClient> | undefined
  /** No new connection attempt before this time, so an outage costs one attempt per `reconnectMs`, not one per request. */
  let retryAt = 0
  let closed = false
  let ok = false
  let lastError: string | undefined
  const failed = (error: unknown) => {
    ok = false
    lastError = error instanceof Error ? error.message : String(error)
  }

  const within = <T>(work: Promise<T>, what: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new RedisTimeoutError(`redis ${what} took longer than ${options.timeoutMs} ms`)), options.timeoutMs)
      work.then(resolve, reject).finally(() => clearTimeout(timer))
    })

  const drop = (failed: RedisClient | undefined) => {
    if (failed && client === failed) client = undefined
    retryAt = Date.now() + options.reconnectMs
    try {
      failed?.close()
    } catch {
      // Already closed.
    }
  }

  const open = (): Promise<RedisClient> => {
    // autoReconnect off: reconnecting is ours, so requests never queue behind a dead connection.
    const next = new RedisClient(options.url, {
      connectionTimeout: options.timeoutMs, autoReconnect: false, enableOfflineQueue: false, enableAutoPipelining: true,
    })
    next.onclose = () => {
      if (client === next) client = undefined
    }
    connecting = within(next.connect(), 'connect').then(
      () => {
        connecting = undefined
        if (closed) {
          next.close()
          throw new Error('redis connection closed')
        }
        client = next
        return next
      },
      (error: unknown) => {
        connecting = undefined
        drop(next)
        throw error
      },
    )
    return connecting
  }

  const live = (): Promise<RedisClient> => {
    if (closed) return Promise.reject(new Error('redis connection closed'))
    if (client?.connected) return Promise.resolve(client)
    if (client) drop(client)
    if (connecting) return connecting
    if (Date.now() < retryAt) return Promise.reject(new Error(`redis unavailable at ${redactedUrl(options.url)}`))
    return open()
  }

  return {
    async run(command) {
      let c: RedisClient
      try {
        c = await live()
      } catch (error) {
        failed(error)
        throw error
      }
      try {
        const answer = await within(command(c), 'command')
        ok = true
        return answer
      } catch (error) {
        // A hung or lost connection: start over with a fresh one after the back-off (a command error keeps it).
        if (error instanceof RedisTimeoutError || !c.connected) {
          drop(c)
          failed(error)
        }
        throw error
      }
    },
    async connect() {
      try {
        await live()
        ok = true
      } catch (error) {
        failed(error)
        throw error
      }
    },
    health: () => (ok ? { ok } : { ok, error: lastError ?? 'not connected yet' }),
    close() {
      closed = true
      client?.close()
      client = undefined
    },
  }
}

/** The URL without its password, for messages. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return 'redis'
  }
}

/** Reads of a Redis-backed plugin's StateBackend: a ping at most every `everyMs` keeps the answer true while no request comes. */
export function redisStateBackend(connection: RedisConnection, component: string, everyMs = 5_000): () => StateBackend {
  let pingedAt = 0
  return () => {
    if (Date.now() - pingedAt > everyMs) {
      pingedAt = Date.now()
      void connection.run((c) => c.send('PING', [])).catch(() => {})
    }
    const health = connection.health()
    return health.ok ? { component, mode: 'shared' } : { component, mode: 'local', detail: health.error }
  }
}
