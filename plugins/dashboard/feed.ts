/** The SSE live feed: a snapshot on connect, each new decision as it happens, aggregate stats on a timer. */

export interface Feed {
  /** One client's event stream; ends when the client leaves, after `maxStreamMs`, or on close(). */
  open(signal: AbortSignal): Response
  publish(event: string, data: unknown): void
  close(): void
}

export interface FeedOptions {
  readonly snapshot: () => unknown
  readonly stats: () => unknown
  readonly statsIntervalMs: number
  /**
   * Streams end after this long and the browser reconnects (`retry`) with a fresh snapshot. An open
   * stream keeps its config generation alive, so a bounded lifetime lets a reloaded config retire.
   */
  readonly maxStreamMs: number
}

const encoder = new TextEncoder()
const RETRY_MS = 1_000

export function frame(event: string, data: unknown): Uint8Array {
  return encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
}

export function createFeed(options: FeedOptions): Feed {
  const clients = new Set<{ send(chunk: Uint8Array): void; end(): void }>()
  /** One stats timer for all clients, running while any is connected: the stats are computed once per tick. */
  let statsTimer: Timer | undefined
  const publish = (event: string, data: unknown) => {
    if (clients.size === 0) return
    const chunk = frame(event, data)
    for (const c of clients) c.send(chunk)
  }
  const connected = () => {
    statsTimer ??= setInterval(() => publish('stats', options.stats()), options.statsIntervalMs)
  }
  const disconnected = () => {
    if (clients.size > 0 || statsTimer === undefined) return
    clearInterval(statsTimer)
    statsTimer = undefined
  }

  return {
    open(signal) {
      let client: { send(chunk: Uint8Array): void; end(): void } | undefined
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          let ended = false
          let lifetime: Timer | undefined
          const end = () => {
            if (ended) return
            ended = true
            clearTimeout(lifetime)
            clients.delete(handle)
            disconnected()
            signal.removeEventListener('abort', end)
            try {
              controller.close()
            } catch {
              // Already closed by the reader going away.
            }
          }
          const send = (chunk: Uint8Array) => {
            if (ended) return
            try {
              controller.enqueue(chunk)
            } catch {
              end()
            }
          }
          const handle = { send, end }
          client = handle
          clients.add(handle)
          connected()
          signal.addEventListener('abort', end, { once: true })
          send(encoder.encode(`retry: ${RETRY_MS}\n\n`))
          send(frame('snapshot', options.snapshot()))
          lifetime = setTimeout(end, options.maxStreamMs)
        },
        cancel() {
          client?.end()
        },
      })
      return new Response(body, {
        headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' },
      })
    },
    publish,
    close() {
      for (const c of [...clients]) c.end()
    },
  }
}
