/** Turns a generation's frames into a response body that notices when the client goes away. */
import type { RequestScope } from './stats.ts'

const encoder = new TextEncoder()

/**
 * One chunk per frame, pulled on demand so the simulated token delays pace the network writes.
 * The scope finishes after the last frame; a cancel from the client aborts it.
 */
export function createFrameStream(frames: AsyncIterable<string>, scope: RequestScope): ReadableStream<Uint8Array> {
  const iterator = frames[Symbol.asyncIterator]()
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await iterator.next()
        if (done) {
          scope.finish()
          controller.close()
        } else {
          controller.enqueue(encoder.encode(value))
        }
      } catch (error) {
        // Aborted waits end up here after the client left; the stream is already cancelled then.
        if (scope.signal.aborted) return
        scope.finish()
        controller.error(error)
      }
    },
    cancel(reason) {
      scope.abort(reason)
    },
  })
}

type ExtraHeaders = Readonly<Record<string, string>>

export function ndjsonResponse(body: ReadableStream<Uint8Array>, extra: ExtraHeaders = {}): Response {
  return new Response(body, { headers: { ...extra, 'content-type': 'application/x-ndjson' } })
}

export function sseResponse(body: ReadableStream<Uint8Array>, extra: ExtraHeaders = {}): Response {
  return new Response(body, {
    headers: { ...extra, 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' },
  })
}

export function jsonResponse(value: unknown, status = 200, extra: ExtraHeaders = {}): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: { ...extra, 'content-type': 'application/json; charset=utf-8' },
  })
}

/** Whether `response` is one of our frame streams, which end their request scope themselves. */
export function isStreamed(response: Response): boolean {
  const type = response.headers.get('content-type') ?? ''
  return type.startsWith('application/x-ndjson') || type.startsWith('text/event-stream')
}
