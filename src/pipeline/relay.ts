/** Relay an upstream body to the client chunk by chunk: observe it, translate it, and end it cleanly on failure. */
import type { ChatRequest } from '../plugin/types.ts'
import type { FlightTap } from './single-flight.ts'
import { ndjsonError } from '../protocols/ollama/stream.ts'
import { createStreamMapper } from '../protocols/ollama/translate.ts'
import { createSseParser, createUsageStrip, cutBytes, sseError } from '../protocols/openai/stream.ts'
import { messageOf } from '../errors.ts'
import { createOutputMeter, createTail, streamUsage } from './usage.ts'

export interface RelayEnd {
  readonly ok: boolean
  /** Set when the client went away before the end. */
  readonly cancelled?: boolean
  readonly error?: string
  readonly ttftMs?: number
  /** Every chunk as text, when recording was asked for and the stream completed. */
  readonly chunks?: readonly string[]
  readonly inputTokens?: number
  readonly outputTokens?: number
  /** Some count is the gateway's estimate: the upstream reported none, or the stream was cut before its end. */
  readonly tokensEstimated?: boolean
  /** The last finish reason the upstream reported (`stop`, `length`, ...). */
  readonly finishReason?: string
  /** The backend's own prompt and generation times in seconds (Ollama reports them). */
  readonly promptSeconds?: number
  readonly evalSeconds?: number
}

export interface RelayOptions {
  readonly request: ChatRequest
  readonly model: string
  readonly translate: boolean
  /** Take out the usage the gateway asked for on the client's behalf (see `UpstreamRequest.stripUsage`). */
  readonly stripUsage?: boolean
  /** The upstream speaks OpenAI's wire format (SSE), else Ollama's (NDJSON): how its frames carry text. */
  readonly upstreamIsOpenAI: boolean
  readonly record: boolean
  readonly startedMs: number
  /** Aborts the upstream request (client went away). */
  readonly abort: (reason: string) => void
  /** True once the client has gone away: a read error then is ours, not the backend's. */
  readonly clientGone: () => boolean
  readonly onEnd: (end: RelayEnd) => void
  /** Gets every chunk the client gets, then the end ('aborted' when the client left): single-flight followers. */
  readonly tap?: FlightTap
}

const encoder = new TextEncoder()

/** How much of the upstream's end is kept for its usage: the usage chunk, `[DONE]`, or Ollama's done line. */
const TAIL_CHARS = 2048

/** Kept here too: the relay is where callers have read stream usage from. */
export { usageFromTail } from './usage.ts'

/** A mid-stream error written in the client's own protocol. */
export function streamErrorFrame(req: ChatRequest, message: string): string {
  return req.protocol === 'openai' ? sseError(message) : ndjsonError(message)
}

export function relayStream(upstream: ReadableStream<Uint8Array>, options: RelayOptions): ReadableStream<Uint8Array> {
  const { request, translate, record, startedMs, onEnd, tap } = options
  const reader = upstream.getReader()
  const decoder = new TextDecoder()
  const recorded: string[] = []
  /** The end of what the upstream sent (before translation or stripping): where its usage is. */
  const tail = createTail(TAIL_CHARS)
  let ttftMs: number | undefined
  let finished = false
  const meter = createOutputMeter(request, options.upstreamIsOpenAI)
  const usage = () => streamUsage(request, tail.text(), meter, options.upstreamIsOpenAI ? 'openai' : 'ollama')
  const mapper = translate ? createStreamMapper(request, options.model, startedMs * 1e6, usage) : undefined
  const sse = translate ? createSseParser() : undefined
  const strip = options.stripUsage && !translate ? createUsageStrip() : undefined

  const finish = (end: RelayEnd) => {
    if (finished) return
    finished = true
    tap?.end(end.cancelled ? 'aborted' : 'ok')
    onEnd({ ttftMs, ...usage(), ...end, chunks: end.ok && record ? recorded : undefined })
  }

  /** Translate one upstream text chunk; returns the text to send and whether the upstream reported an error. */
  const mapChunk = (text: string): { out: string; error?: string } => {
    if (!mapper || !sse) return { out: strip ? strip.push(text) : text }
    let out = ''
    for (const event of sse.push(text)) {
      if (event.data === '[DONE]') {
        out += mapper.end()
        continue
      }
      let json: Record<string, unknown>
      try {
        json = JSON.parse(event.data) as Record<string, unknown>
      } catch {
        continue
      }
      const error = event.event === 'error' || json.error ? String((json.error as { message?: string })?.message ?? json.message ?? event.data) : undefined
      if (error) return { out: out + ndjsonError(error), error }
      out += mapper.chunk(json)
    }
    return { out }
  }

  /** `text` is `chunk` as text, for single-flight followers. */
  const send = (controller: ReadableStreamDefaultController<Uint8Array>, chunk: Uint8Array, text: string) => {
    tap?.push(text)
    controller.enqueue(chunk)
  }

  /** Text the relay writes itself (the translation's last line, the rest of a stripped stream). */
  const sendOwn = (controller: ReadableStreamDefaultController<Uint8Array>, text: string) => {
    if (!text) return
    if (record) recorded.push(text)
    send(controller, encoder.encode(text), text)
  }

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      // A chunk may give the client nothing yet (half an event, a usage chunk taken out): read on until one does.
      for (;;) {
        let result: Awaited<ReturnType<typeof reader.read>>
        try {
          result = await reader.read()
        } catch (error) {
          if (options.clientGone()) {
            controller.close()
            finish({ ok: false, cancelled: true, error: 'client disconnected' })
            return
          }
          const message = `backend connection lost mid-stream: ${messageOf(error)}`
          const frame = streamErrorFrame(request, message)
          send(controller, encoder.encode(frame), frame)
          controller.close()
          finish({ ok: false, error: message })
          return
        }
        if (result.done) {
          if (mapper) sendOwn(controller, mapper.end())
          if (strip) sendOwn(controller, strip.end())
          controller.close()
          finish({ ok: true })
          return
        }
        ttftMs ??= performance.now() - startedMs
        const text = decoder.decode(result.value, { stream: true })
        tail.push(text)
        meter.push(text)
        if (!translate && !record && !strip) {
          send(controller, result.value, text)
          return
        }
        const { out, error } = mapChunk(text)
        if (record && out) recorded.push(out)
        if (out) {
          const cut = strip?.lastCut()
          const bytes = out === text ? result.value : ((cut && cutBytes(result.value, cut)) ?? encoder.encode(out))
          send(controller, bytes, out)
        }
        if (error) {
          controller.close()
          options.abort('backend reported an error mid-stream')
          finish({ ok: false, error })
          return
        }
        if (out || finished) return
      }
    },
    cancel(reason) {
      options.abort('client disconnected')
      void reader.cancel(reason).catch(() => {})
      finish({ ok: false, cancelled: true, error: 'client disconnected' })
    },
  })
}
