/** Span helpers for the core (OpenTelemetry API only): `inSpan()`, error recording, lazy attributes, header carriers. */
import {
  type Attributes,
  type Context,
  type Span,
  type SpanOptions,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  type TracerProvider,
  ProxyTracerProvider,
  isSpanContextValid,
  trace,
} from '@opentelemetry/api'
import { ATTR_ERROR_TYPE, CAPTURE_CONTENT_ENV, ERROR_TYPE_OTHER, TRACER_NAME } from './attributes.ts'
import { messageOf } from '../errors.ts'

let probed: { readonly provider: TracerProvider; readonly enabled: boolean; readonly tracer: Tracer } | undefined

/** The registered provider (behind the API's proxy), probed once per provider: does it trace, and its tracer for us. */
function current(): NonNullable<typeof probed> {
  const global = trace.getTracerProvider()
  const provider = global instanceof ProxyTracerProvider ? global.getDelegate() : global
  if (probed?.provider !== provider) {
    const tracer = provider.getTracer(TRACER_NAME)
    const probe = tracer.startSpan('probe')
    probed = { provider, enabled: isSpanContextValid(probe.spanContext()), tracer }
  }
  return probed
}

/**
 * The core's tracer; a no-op until a provider is registered (the `otel` plugin does that). Kept per provider: the
 * SDK builds a lookup key on every `getTracer` call, several times a request otherwise.
 */
export function getTracer(): Tracer {
  return current().tracer
}

/**
 * Whether a tracer provider is registered (the `otel` plugin, or one the host process set up). Without one every
 * span would be a no-op, so the request path skips span work and header propagation entirely. A registered SDK
 * always makes spans with valid ids (also when its sampler drops them), so one probe span per provider tells.
 */
export function tracingEnabled(): boolean {
  return current().enabled
}

/** Attributes as an object, or a function building them that only runs when the span records. */
export type LazyAttributes = Attributes | (() => Attributes)

/** Stage spans take no options but their attributes (INTERNAL, no links): one shared empty object, not a copy per span. */
const STAGE_SPAN: SpanOptions = Object.freeze({})

/** Set attributes only when the span records: no attribute objects are built while tracing is off. */
export function annotate(span: Span | undefined, attributes: LazyAttributes): void {
  if (!span?.isRecording()) return
  span.setAttributes(typeof attributes === 'function' ? attributes() : attributes)
}

/** A low-cardinality `error.type`: a SwitchyardError's code, else the error class name. */
export function errorTypeOf(error: unknown): string {
  if (error && typeof error === 'object') {
    const code = (error as { code?: unknown }).code
    if (typeof code === 'string' && /^[a-z_]+$/.test(code)) return code
    if (error instanceof Error && error.name) return error.name
  }
  return ERROR_TYPE_OTHER
}

/** Mark a span failed: `error.type`, the exception event and status ERROR with the message. */
export function recordError(span: Span | undefined, error: unknown, errorType?: string): void {
  if (!span?.isRecording()) return
  const message = messageOf(error)
  span.setAttribute(ATTR_ERROR_TYPE, errorType ?? errorTypeOf(error))
  if (error instanceof Error) span.recordException(error)
  span.setStatus({ code: SpanStatusCode.ERROR, message })
}

/**
 * Run `work` in an INTERNAL child span of `parent` (passed explicitly, never taken from the active context). A synchronous
 * result ends the span at once and is returned as is; a promise ends it when it settles, without an async frame
 * of its own (these wrap every request's stages). `annotate` sees the result before the span ends; a throw or
 * rejection records `error.type`, the exception and ERROR status. The span ends once.
 */
export function inSpan<T>(
  tracer: Tracer,
  name: string,
  parent: Context,
  attributes: LazyAttributes | undefined,
  work: () => T | Promise<T>,
  onResult?: (span: Span, result: T) => void,
): T | Promise<T> {
  const span = tracer.startSpan(name, STAGE_SPAN, parent)
  if (attributes) annotate(span, attributes)
  const fail = (error: unknown): never => {
    recordError(span, error)
    span.end()
    throw error
  }
  const succeed = (result: T): T => {
    onResult?.(span, result)
    span.end()
    return result
  }
  let result: T | Promise<T>
  try {
    result = work()
  } catch (error) {
    return fail(error)
  }
  return result instanceof Promise ? result.then(succeed, fail) : succeed(result)
}

/** A function that ends a span at most once, whatever path (done, error, cancel) gets there first. */
export function endOnce(span: Span): (error?: { error: unknown; type?: string }) => void {
  let ended = false
  return (failure) => {
    if (ended) return
    ended = true
    if (failure) recordError(span, failure.error, failure.type)
    span.end()
  }
}

/** Reads W3C trace headers from a Fetch `Headers` object. */
export const HEADERS_GETTER: TextMapGetter<Headers> = {
  get: (carrier, key) => carrier.get(key) ?? undefined,
  keys: (carrier) => [...carrier.keys()],
}

/** Prompt and completion text go to spans only when opted in (`captureContent` / the GenAI env switch). */
export function captureContent(): boolean {
  return process.env[CAPTURE_CONTENT_ENV] === 'true'
}
