/** The CLIENT span of one upstream attempt (`chat {model}`): GenAI attributes, traceparent injection, one end. */
import { type Attributes, type Context, ROOT_CONTEXT, type Span, SpanKind, propagation, trace } from '@opentelemetry/api'
import type { BackendKind, ChatRequest } from '../plugin/types.ts'
import {
  ATTR_GEN_AI_INPUT_MESSAGES,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_OUTPUT_MESSAGES,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MAX_TOKENS,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_REQUEST_SEED,
  ATTR_GEN_AI_REQUEST_STREAM,
  ATTR_GEN_AI_REQUEST_TEMPERATURE,
  ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_SWITCHYARD_ATTEMPT,
  ATTR_SWITCHYARD_BACKEND,
  ATTR_SWITCHYARD_FALLBACK_COUNT,
  ATTR_SWITCHYARD_MODEL,
  ATTR_SWITCHYARD_USAGE_ESTIMATED,
  EVENT_GEN_AI_FIRST_CHUNK,
  GEN_AI_OPERATIONS,
} from './attributes.ts'
import { inputMessages, outputMessages } from './content.ts'
import { annotate, captureContent, endOnce, getTracer, tracingEnabled } from './spans.ts'

export interface AttemptInfo {
  readonly request: ChatRequest
  readonly model: string
  readonly backend: { readonly name: string; readonly kind: BackendKind }
  readonly url: string
  /** 0 for the first option, 1.. for fallbacks. */
  readonly attempt: number
  /** `performance.now()` when the gateway received the request (relay times are relative to it). */
  readonly startedMs: number
}

/** What an attempt's answer tells the span when it ends. */
export interface AttemptAnswer {
  readonly ttftMs?: number
  readonly inputTokens?: number
  readonly outputTokens?: number
  /** Some count is the gateway's estimate (see src/pipeline/usage.ts). */
  readonly tokensEstimated?: boolean
  readonly finishReason?: string
  readonly chunks?: readonly string[]
}

/** The usage attributes of an answer (both spans carry them); output tokens are not a thing for embeddings. */
function usageAttributes(answer: AttemptAnswer, operation: string): Attributes {
  const out: Attributes = {}
  if (answer.inputTokens !== undefined) out[ATTR_GEN_AI_USAGE_INPUT_TOKENS] = answer.inputTokens
  if (answer.outputTokens !== undefined && operation !== 'embeddings') out[ATTR_GEN_AI_USAGE_OUTPUT_TOKENS] = answer.outputTokens
  if (answer.tokensEstimated) out[ATTR_SWITCHYARD_USAGE_ESTIMATED] = true
  return out
}

export interface AttemptTrace {
  /** Record the output text too (the relay must keep the chunks): only with `captureContent`. */
  readonly wantsOutput: boolean
  /** Ends the span as failed; `type` is the low-cardinality `error.type`; `answer` has the usage of a stream cut mid-way. */
  fail(error: unknown, type: string, answer?: AttemptAnswer): void
  /** Ends the span with the answer; marks the SERVER span with the backend that answered. */
  succeed(answer: AttemptAnswer): void
}

/** `server.address` and `server.port` of a backend, parsed from its first attempt's URL and kept with it. */
const servers = new WeakMap<object, { readonly address: string; readonly port: number }>()

function serverOf(backend: object, href: string): { readonly address: string; readonly port: number } {
  let server = servers.get(backend)
  if (!server) {
    const url = new URL(href)
    server = { address: url.hostname, port: url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80 }
    servers.set(backend, server)
  }
  return server
}

/**
 * Start the attempt's CLIENT span under `parent` and inject its context into `headers` (W3C
 * traceparent). With no propagator registered (tracing off), the client's own `traceparent`, when
 * given, passes through unchanged so the gateway stays transparent to callers' traces.
 */
const UNTRACED: AttemptTrace = { wantsOutput: false, fail: () => {}, succeed: () => {} }

export function startAttempt(parent: Context | undefined, info: AttemptInfo, headers: Record<string, string>, clientTraceparent?: string): AttemptTrace {
  if (!tracingEnabled()) {
    if (clientTraceparent) headers.traceparent = clientTraceparent
    return UNTRACED
  }
  const base = parent ?? ROOT_CONTEXT
  const operation = GEN_AI_OPERATIONS[info.request.operation]
  const span = getTracer().startSpan(`${operation} ${info.model}`, { kind: SpanKind.CLIENT }, base)
  const attemptStartMs = performance.now()
  const recording = span.isRecording()
  if (recording) {
    const peer = serverOf(info.backend, info.url)
    const { request } = info
    span.setAttributes({
      [ATTR_GEN_AI_OPERATION_NAME]: operation,
      [ATTR_GEN_AI_PROVIDER_NAME]: info.backend.kind,
      [ATTR_GEN_AI_REQUEST_MODEL]: info.model,
      [ATTR_SERVER_ADDRESS]: peer.address,
      [ATTR_SERVER_PORT]: peer.port,
      [ATTR_SWITCHYARD_BACKEND]: info.backend.name,
      [ATTR_SWITCHYARD_ATTEMPT]: info.attempt,
    })
    if (request.stream) span.setAttribute(ATTR_GEN_AI_REQUEST_STREAM, true)
    if (request.maxTokens !== undefined) span.setAttribute(ATTR_GEN_AI_REQUEST_MAX_TOKENS, request.maxTokens)
    if (request.temperature !== undefined) span.setAttribute(ATTR_GEN_AI_REQUEST_TEMPERATURE, request.temperature)
    if (request.seed !== undefined) span.setAttribute(ATTR_GEN_AI_REQUEST_SEED, request.seed)
    if (captureContent() && operation !== 'embeddings') span.setAttribute(ATTR_GEN_AI_INPUT_MESSAGES, inputMessages(request))
  }
  propagation.inject(trace.setSpan(base, span), headers)
  if (!headers.traceparent && clientTraceparent) headers.traceparent = clientTraceparent
  const end = endOnce(span)
  const server: Span | undefined = trace.getSpan(base)
  const wantsOutput = recording && captureContent() && operation !== 'embeddings'
  return {
    wantsOutput,
    fail(error, type, answer) {
      if (recording && answer) {
        const usage = usageAttributes(answer, operation)
        span.setAttributes(usage)
        annotate(server, () => usage)
      }
      end({ error, type })
    },
    succeed(answer) {
      if (recording) {
        span.setAttribute(ATTR_GEN_AI_RESPONSE_MODEL, info.model)
        span.setAttributes(usageAttributes(answer, operation))
        if (answer.finishReason) span.setAttribute(ATTR_GEN_AI_RESPONSE_FINISH_REASONS, [answer.finishReason])
        if (answer.ttftMs !== undefined) {
          const firstChunkMs = info.startedMs + answer.ttftMs
          span.setAttribute(ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, Math.max(0, firstChunkMs - attemptStartMs) / 1000)
          span.addEvent(EVENT_GEN_AI_FIRST_CHUNK, performance.timeOrigin + firstChunkMs)
        }
        if (wantsOutput && answer.chunks) span.setAttribute(ATTR_GEN_AI_OUTPUT_MESSAGES, outputMessages(answer.chunks, answer.finishReason))
      }
      end()
      annotate(server, () => ({
        [ATTR_SWITCHYARD_BACKEND]: info.backend.name,
        [ATTR_SWITCHYARD_MODEL]: info.model,
        [ATTR_GEN_AI_RESPONSE_MODEL]: info.model,
        [ATTR_SWITCHYARD_FALLBACK_COUNT]: info.attempt,
        ...usageAttributes(answer, operation),
      }))
    },
  }
}
