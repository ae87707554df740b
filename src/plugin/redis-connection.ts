/** For plugins and the core: a Redis connection that fails fast while Redis is away and reconnects in the background. */
import { RedisClient } from 'bun'

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
      const c = await live()
      try {
        return await within(command(c), 'command')
      } catch (error) {
        // A hung or lost connection: start over with a fresh one after the back-off (a command error keeps it).
        if (error instanceof RedisTimeoutError || !c.connected) drop(c)
        throw error
      }
    },
    async connect() {
      await live()
    },
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
