/** Send the request upstream: attempts over the selection's options, deadlines, then relay the answer. */
import type { Context } from '@opentelemetry/api'
import { OverloadedError, UpstreamError, UpstreamTimeoutError, messageOf } from '../errors.ts'
import type { CacheEntry, ChatRequest, Selection, SelectionOption } from '../plugin/types.ts'
import { fromOpenAIResponse } from '../protocols/ollama/translate.ts'
import type { Answer } from './context.ts'
import type { GatewayDeps } from './deps.ts'
import { type RelayEnd, relayStream } from './relay.ts'
import { answerUsage } from './usage.ts'
import { estimatePromptTokens } from '../plugin/text.ts'
import { type DeadlineKind, cancelDeadline, startDeadline } from './deadlines.ts'
import type { FlightTap } from './single-flight.ts'
import { planUpstream } from './upstream.ts'
import { ERROR_TYPE_CANCELLED, ERROR_TYPE_CONNECTION, ERROR_TYPE_STREAM, ERROR_TYPE_TIMEOUT } from '../telemetry/attributes.ts'
import { startAttempt } from '../telemetry/attempt.ts'

export interface ForwardInput {
  readonly request: ChatRequest
  readonly raw: Uint8Array
  readonly selection: Selection
  readonly clientSignal: AbortSignal
  readonly startedMs: number
  /** The SERVER span's context: each attempt is a CLIENT span under it, injected as `traceparent`. */
  readonly traceContext?: Context
  /** The client's own header, passed through only when tracing is off (nothing to inject). */
  readonly traceparent?: string
  /** Called once with the complete answer, for the cache. */
  readonly onComplete?: (entry: CacheEntry) => void
  /** `upstreamStartedMs`: when the answering attempt was sent (performance.now()), for its GPU time. */
  readonly onEnd?: (end: ForwardEnd) => void
  /** Response headers naming what answered, built once the answering option is known. */
  readonly headers?: (option: SelectionOption, attemptNotes: readonly string[]) => Record<string, string>
  /** Fed with a streamed answer's chunks (single-flight followers). */
  readonly tap?: FlightTap
}

export type ForwardEnd = RelayEnd & { readonly backend: string; readonly model: string; readonly attempts: number; readonly upstreamStartedMs: number }

/** The response to send, with what the cache stage needs of it (its headers, its text or its relay). */
export interface Forwarded extends Answer {
  readonly response: Response
}

export function contentTypeFor(req: ChatRequest): string {
  if (!req.stream) return 'application/json; charset=utf-8'
  return req.protocol === 'openai' ? 'text/event-stream; charset=utf-8' : 'application/x-ndjson'
}

/** Status codes after which another backend may well succeed. */
const RETRYABLE = new Set([404, 408, 429, 500, 502, 503, 504])

async function errorMessage(res: Response): Promise<string> {
  const text = await res.text().catch(() => '')
  try {
    const json = JSON.parse(text) as { error?: string | { message?: string } }
    const e = json.error
    return typeof e === 'string' ? e : (e?.message ?? text)
  } catch {
    return text.slice(0, 300) || res.statusText
  }
}

/**
 * A half-open backend gets one trial request, ahead of healthier options for the same model (which stay behind
 * it as fallbacks), so its circuit can close; otherwise a backend with a healthy twin would never be tried again.
 */
function withTrialFirst(deps: GatewayDeps, options: SelectionOption[]): SelectionOption[] {
  const first = options[0]
  if (!first || options.length < 2) return options
  const index = options.findIndex((o, i) => i > 0 && o.model === first.model && deps.health.circuit(o.backend) === 'half-open')
  if (index === -1 || !deps.health.trial(options[index]!.backend)) return options
  return [options[index]!, ...options.filter((_, i) => i !== index)]
}

/** One attempt's abort switch; a deadline expiring aborts it and says which deadline it was. */
class AttemptControl {
  readonly controller = new AbortController()
  timedOut?: string

  abort(reason: string): void {
    this.controller.abort(new Error(reason))
  }

  expire(ms: number, kind: DeadlineKind): void {
    this.timedOut = kind === 'first-byte' ? `no response within ${ms} ms` : `no complete response within ${ms} ms`
    this.abort(this.timedOut)
  }
}

export async function forward(deps: GatewayDeps, input: ForwardInput): Promise<Forwarded> {
  const { request, selection, clientSignal } = input
  const server = deps.config.server
  const options = withTrialFirst(deps, [{ model: selection.model, backend: selection.backend }, ...(selection.fallbacks ?? [])]).slice(0, server.maxAttempts)
  const notes: string[] = []
  let lastError: Error | undefined
  for (const [attempt, option] of options.entries()) {
    if (clientSignal.aborted) throw new UpstreamError('client disconnected', 499)
    const backend = deps.config.backends.find((b) => b.name === option.backend)
    if (!backend) continue
    const view = deps.health.views().find((b) => b.name === option.backend)
    const warm = view?.loaded.some((m) => m.name === option.model) ?? false
    let releaseSlot: (() => void) | undefined
    try {
      releaseSlot = await deps.admission.acquire(option.backend, clientSignal, server.queueTimeoutMs)
    } catch (error) {
      if (clientSignal.aborted) throw new UpstreamError('client disconnected', 499, { cause: error })
      notes.push(`attempt ${attempt + 1} ${option.model}@${option.backend}: queue wait timed out`)
      lastError = new OverloadedError(`backend "${option.backend}" is busy: ${messageOf(error)}`, 503, 5)
      continue
    }
    if (!releaseSlot) {
      notes.push(`attempt ${attempt + 1} ${option.model}@${option.backend}: at maxConcurrency, queue full`)
      lastError = new OverloadedError(`backend "${option.backend}" is at maxConcurrency and its queue is full`, 429, 1)
      continue
    }
    // The client may have left while queued: its abort event has fired already, so check before starting.
    if (clientSignal.aborted) {
      releaseSlot()
      throw new UpstreamError('client disconnected', 499)
    }
    const plan = planUpstream(request, input.raw, backend, option.model)
    const traced = startAttempt(input.traceContext, { request, model: option.model, backend, url: plan.url, attempt, startedMs: input.startedMs }, plan.headers, input.traceparent)
    const control = new AttemptControl()
    const { controller } = control
    const abort = (reason: string) => control.abort(reason)
    const onClientAbort = () => abort('client disconnected')
    clientSignal.addEventListener('abort', onClientAbort, { once: true })
    const firstByteMs = warm || backend.kind === 'openai' ? server.firstByteTimeoutMs : server.coldStartTimeoutMs
    const firstByteDeadline = startDeadline(firstByteMs, control, 'first-byte')
    const totalDeadline = startDeadline(server.requestTimeoutMs, control, 'total')
    const end = deps.health.begin(option.backend, option.model)
    const release = () => {
      releaseSlot()
      cancelDeadline(firstByteDeadline)
      cancelDeadline(totalDeadline)
      clientSignal.removeEventListener('abort', onClientAbort)
    }
    let res: Response
    const upstreamStartedMs = performance.now()
    try {
      res = await fetch(plan.url, { method: 'POST', body: plan.body as BodyInit, headers: plan.headers, signal: controller.signal, decompress: false })
    } catch (error) {
      release()
      const cause = control.timedOut ?? messageOf(error)
      // A client that hung up says nothing about the backend's health.
      end(clientSignal.aborted ? { ok: false, cancelled: true } : { ok: false, error: cause })
      traced.fail(new Error(cause, { cause: error }), clientSignal.aborted ? ERROR_TYPE_CANCELLED : control.timedOut ? ERROR_TYPE_TIMEOUT : ERROR_TYPE_CONNECTION)
      if (clientSignal.aborted) throw new UpstreamError('client disconnected', 499, { cause: error })
      notes.push(`attempt ${attempt + 1} ${option.model}@${option.backend} failed: ${cause}`)
      lastError = control.timedOut ? new UpstreamTimeoutError(`backend "${option.backend}": ${cause}`) : new UpstreamError(`backend "${option.backend}" unreachable: ${cause}`)
      continue
    }
    cancelDeadline(firstByteDeadline)
    if (!res.ok) {
      const message = await errorMessage(res)
      release()
      end({ ok: res.status < 500, error: `HTTP ${res.status}: ${message}` })
      traced.fail(new Error(`HTTP ${res.status}: ${message}`), String(res.status))
      if (RETRYABLE.has(res.status) && attempt < options.length - 1) {
        notes.push(`attempt ${attempt + 1} ${option.model}@${option.backend} failed: HTTP ${res.status}`)
        lastError = new UpstreamError(`backend "${option.backend}" answered ${res.status}: ${message}`, res.status >= 500 ? 502 : res.status)
        continue
      }
      throw new UpstreamError(`backend "${option.backend}" answered ${res.status}: ${message}`, res.status >= 500 ? 502 : res.status)
    }
    const record = input.onComplete !== undefined || traced.wantsOutput
    const finishWith = (relayEnd: RelayEnd) => {
      release()
      end({ ok: relayEnd.ok, cancelled: relayEnd.cancelled, ttftMs: relayEnd.ttftMs, error: relayEnd.error })
      if (relayEnd.ok) traced.succeed(relayEnd)
      else traced.fail(new Error(relayEnd.error ?? 'upstream failed'), relayEnd.cancelled || clientSignal.aborted ? ERROR_TYPE_CANCELLED : control.timedOut ? ERROR_TYPE_TIMEOUT : ERROR_TYPE_STREAM, relayEnd)
      input.onEnd?.({ ...relayEnd, backend: option.backend, model: option.model, attempts: attempt + 1, upstreamStartedMs })
      if (relayEnd.ok && relayEnd.chunks && input.onComplete) {
        input.onComplete({ status: 200, contentType: contentTypeFor(request), model: option.model, backend: option.backend, chunks: relayEnd.chunks, createdAt: Date.now() })
      }
    }
    if (request.stream && res.body) {
      const body = relayStream(res.body, {
        request, model: option.model, translate: plan.translate, stripUsage: plan.stripUsage, upstreamIsOpenAI: plan.translate || request.protocol === 'openai',
        record, startedMs: input.startedMs, abort, clientGone: () => clientSignal.aborted, onEnd: finishWith, tap: input.tap,
      })
      const headers = { 'content-type': contentTypeFor(request), 'cache-control': 'no-cache', ...input.headers?.(option, notes) }
      return { response: new Response(body, { status: 200, headers }), headers, relayed: body }
    }
    let text: string
    try {
      text = await res.text()
    } catch (error) {
      const cause = control.timedOut ?? messageOf(error)
      // Nothing reached the client: the prompt is charged (estimated), no output.
      const usage = { inputTokens: estimatePromptTokens(request), outputTokens: 0, tokensEstimated: true }
      finishWith(clientSignal.aborted ? { ok: false, cancelled: true, error: 'client disconnected', ...usage } : { ok: false, error: cause, ...usage })
      if (clientSignal.aborted) throw new UpstreamError('client disconnected', 499, { cause: error })
      throw new UpstreamError(`backend "${option.backend}" failed while answering: ${cause}`)
    }
    const ttftMs = performance.now() - input.startedMs
    // Counted from the upstream's own answer: a translation would put 0 where the upstream reported nothing.
    const usage = answerUsage(request, text, plan.translate || request.protocol === 'openai' ? 'openai' : 'ollama')
    if (plan.translate) {
      try {
        text = JSON.stringify(fromOpenAIResponse(request, option.model, JSON.parse(text) as Record<string, unknown>, input.startedMs * 1e6, usage))
      } catch (error) {
        finishWith({ ok: false, error: 'backend sent a body that is not JSON', ...usage })
        throw new UpstreamError(`backend "${option.backend}" sent a body that is not JSON`, 502, { cause: error })
      }
    }
    finishWith({ ok: true, ttftMs, chunks: [text], ...usage })
    const headers = { 'content-type': contentTypeFor(request), ...input.headers?.(option, notes) }
    return { response: new Response(text, { status: 200, headers }), headers, text }
  }
  throw lastError ?? new UpstreamError('no backend could be tried')
}
