/** Injected failures: parsing `x-sim-fault`, the queue behind `POST /sim/faults`, and breaking a response mid-body. */

export const FAULT_HEADER = 'x-sim-fault'
const DROP_FLUSH_MS = 20

export type Fault =
  | { readonly kind: 'status'; readonly status: number }
  | { readonly kind: 'hang' }
  | { readonly kind: 'drop-mid-stream' }
  | { readonly kind: 'slow-first-byte'; readonly delayMs: number }
  /** Answers without token counts, as servers that ignore `stream_options.include_usage` (or very old Ollamas) do. */
  | { readonly kind: 'no-usage' }

/** Parses `status-500`, `hang`, `drop-mid-stream`, `no-usage` or `slow-first-byte=MS`; undefined when it is none of them. */
export function parseFault(text: string): Fault | undefined {
  const value = text.trim().toLowerCase()
  if (value === 'hang') return { kind: 'hang' }
  if (value === 'drop-mid-stream') return { kind: 'drop-mid-stream' }
  if (value === 'no-usage') return { kind: 'no-usage' }
  const status = /^status-([1-5]\d\d)$/.exec(value)
  if (status) return { kind: 'status', status: Number(status[1]) }
  const slow = /^slow-first-byte=(\d+(?:\.\d+)?)$/.exec(value)
  if (slow) return { kind: 'slow-first-byte', delayMs: Number(slow[1]) }
  return undefined
}

export interface FaultQueue {
  /** Queues `fault` for the next `count` generation requests. */
  push(fault: Fault, count: number): void
  /** Takes the fault for one generation request, if any is queued. */
  take(): Fault | undefined
  pending(): { fault: string; count: number }[]
  clear(): void
}

export function formatFault(fault: Fault): string {
  switch (fault.kind) {
    case 'status':
      return `status-${fault.status}`
    case 'slow-first-byte':
      return `slow-first-byte=${fault.delayMs}`
    default:
      return fault.kind
  }
}

export function createFaultQueue(): FaultQueue {
  const queue: { fault: Fault; count: number }[] = []
  return {
    push(fault, count) {
      if (count > 0) queue.push({ fault, count })
    },
    take() {
      const head = queue[0]
      if (!head) return undefined
      head.count--
      if (head.count <= 0) queue.shift()
      return head.fault
    },
    pending: () => queue.map(({ fault, count }) => ({ fault: formatFault(fault), count })),
    clear() {
      queue.length = 0
    },
  }
}

/**
 * Passes on at most two chunks of `response`'s body, then errors the stream so the client sees a
 * truncated body (Bun resets the connection). A body that is one chunk (non-streamed JSON) is cut
 * in half. `onDrop` runs first, so the source's cancel is not mistaken for a client abort.
 */
export function dropMidStream(response: Response, onDrop: () => void): Response {
  const source = response.body
  if (!source) return response
  const reader = source.getReader()
  let held: Uint8Array | undefined
  let forwarded = 0
  const drop = async (controller: ReadableStreamDefaultController<Uint8Array>) => {
    onDrop()
    reader.cancel('simulated drop-mid-stream').catch(() => {})
    // Let the headers and the chunks so far reach the socket first: erroring a body Bun has not
    // started writing resets the connection before the response, which is a different fault.
    await Bun.sleep(DROP_FLUSH_MS)
    controller.error(new Error('simulated drop-mid-stream'))
  }
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) {
          if (held && forwarded === 0) controller.enqueue(held.subarray(0, Math.max(1, held.length >> 1)))
          return drop(controller)
        }
        if (held) {
          controller.enqueue(held)
          forwarded++
        }
        held = value
        if (forwarded >= 2) return drop(controller)
        if (forwarded > 0) return
      }
    },
    cancel(reason) {
      return reader.cancel(reason)
    },
  })
  const headers = new Headers(response.headers)
  headers.delete('content-length')
  return new Response(body, { status: response.status, headers })
}

/** One JSON object without its token counts: OpenAI's `usage`, Ollama's `prompt_eval_count` / `eval_count`. */
function withoutCounts(json: Record<string, unknown>): Record<string, unknown> {
  const { usage: _usage, prompt_eval_count: _input, eval_count: _output, ...rest } = json
  return rest
}

/** One frame (an SSE event or an NDJSON line) without counts; '' for OpenAI's usage-only chunk. */
function frameWithoutCounts(frame: string): string {
  const sse = frame.startsWith('data: ')
  const text = sse ? frame.slice(6).trimEnd() : frame.trimEnd()
  if (!text.startsWith('{')) return frame
  const json = JSON.parse(text) as Record<string, unknown>
  if (sse && Array.isArray(json.choices) && json.choices.length === 0 && json.usage) return ''
  return sse ? `data: ${JSON.stringify(withoutCounts(json))}\n\n` : `${JSON.stringify(withoutCounts(json))}\n`
}

/**
 * The same answer with no token counts anywhere: the usage chunk of an SSE stream dropped, `usage` and Ollama's
 * counts taken out of every frame and of a whole JSON body. The simulator writes one frame per chunk.
 */
export async function withoutUsage(response: Response): Promise<Response> {
  const source = response.body
  if (!source || !response.ok) return response
  const headers = new Headers(response.headers)
  headers.delete('content-length')
  const type = headers.get('content-type') ?? ''
  if (!type.includes('event-stream') && !type.includes('ndjson')) {
    const json = JSON.parse(await response.text()) as Record<string, unknown>
    return new Response(JSON.stringify(withoutCounts(json)), { status: response.status, headers })
  }
  const decoder = new TextDecoder()
  const encoder = new TextEncoder()
  const body = source.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      const frame = frameWithoutCounts(decoder.decode(chunk, { stream: true }))
      if (frame) controller.enqueue(encoder.encode(frame))
    },
  }))
  return new Response(body, { status: response.status, headers })
}
