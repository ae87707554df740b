/** Relay an upstream body to the client chunk by chunk: observe it, translate it, and end it cleanly on failure. */
import type { ChatRequest } from '../plugin/types.ts'
import type { FlightTap } from './single-flight.ts'
import { ndjsonError } from '../protocols/ollama/stream.ts'
import { createStreamMapper } from '../protocols/ollama/translate.ts'
import { createSseParser, sseError } from '../protocols/openai/stream.ts'
import { messageOf } from '../errors.ts'

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
  /** The last finish reason the upstream reported (`stop`, `length`, ...). */
  readonly finishReason?: string
}

export interface RelayOptions {
  readonly request: ChatRequest
  readonly model: string
  readonly translate: boolean
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

const COUNT_VALUE = /^\s*:\s*(\d+)/
const REASON_VALUE = /^\s*:\s*"([a-z_]{1,32})"/

/** The number after the last `"key":` in `tail`, if any. */
function lastCount(tail: string, key: string): number | undefined {
  const at = tail.lastIndexOf(key)
  if (at === -1) return undefined
  const m = COUNT_VALUE.exec(tail.slice(at + key.length, at + key.length + 32))
  return m ? Number(m[1]) : undefined
}

/** The last string value of `"finish_reason"` or `"done_reason"` (skipping `null`s after it). */
function lastReason(tail: string): string | undefined {
  for (const key of ['"finish_reason"', '"done_reason"']) {
    for (let at = tail.lastIndexOf(key); at !== -1; at = at === 0 ? -1 : tail.lastIndexOf(key, at - 1)) {
      const m = REASON_VALUE.exec(tail.slice(at + key.length, at + key.length + 48))
      if (m) return m[1]
    }
  }
  return undefined
}

/**
 * Token counts and finish reason from the final frames of a stream (Ollama's done line or OpenAI's usage chunk),
 * or from a whole answer's end. String searches first: no regular expression runs over the whole tail.
 */
export function usageFromTail(tail: string): { inputTokens?: number; outputTokens?: number; finishReason?: string } {
  return {
    inputTokens: lastCount(tail, '"prompt_eval_count"') ?? lastCount(tail, '"prompt_tokens"'),
    outputTokens: lastCount(tail, '"eval_count"') ?? lastCount(tail, '"completion_tokens"'),
    finishReason: lastReason(tail),
  }
}

/** A mid-stream error written in the client's own protocol. */
export function streamErrorFrame(req: ChatRequest, message: string): string {
  return req.protocol === 'openai' ? sseError(message) : ndjsonError(message)
}

export function relayStream(upstream: ReadableStream<Uint8Array>, options: RelayOptions): ReadableStream<Uint8Array> {
  const { request, translate, record, startedMs, onEnd, tap } = options
  const reader = upstream.getReader()
  const decoder = new TextDecoder()
  const recorded: string[] = []
  let tail = ''
  let ttftMs: number | undefined
  let finished = false
  const mapper = translate ? createStreamMapper(request, options.model, startedMs * 1e6) : undefined
  const sse = translate ? createSseParser() : undefined

  const finish = (end: RelayEnd) => {
    if (finished) return
    finished = true
    tap?.end(end.cancelled ? 'aborted' : 'ok')
    onEnd({ ttftMs, ...usageFromTail(tail), ...end, chunks: end.ok && record ? recorded : undefined })
  }

  /** Translate one upstream text chunk; returns the text to send and whether the upstream reported an error. */
  const mapChunk = (text: string): { out: string; error?: string } => {
    if (!mapper || !sse) return { out: text }
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

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
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
        if (mapper) {
          const last = mapper.end()
          if (last) send(controller, encoder.encode(last), last)
        }
        controller.close()
        finish({ ok: true })
        return
      }
      ttftMs ??= performance.now() - startedMs
      if (!translate && !record) {
        const text = decoder.decode(result.value, { stream: true })
        send(controller, result.value, text)
        tail = text.slice(-600)
        return
      }
      const text = decoder.decode(result.value, { stream: true })
      const { out, error } = mapChunk(text)
      tail = (tail + out).slice(-600)
      if (record) recorded.push(out)
      if (out) send(controller, translate ? encoder.encode(out) : result.value, out)
      if (error) {
        controller.close()
        options.abort('backend reported an error mid-stream')
        finish({ ok: false, error })
      }
    },
    cancel(reason) {
      options.abort('client disconnected')
      void reader.cancel(reason).catch(() => {})
      finish({ ok: false, cancelled: true, error: 'client disconnected' })
    },
  })
}
