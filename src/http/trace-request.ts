/** One request's outer telemetry: the SERVER span (honours `traceparent`, ends with the body, once) and the final event. */
import { ROOT_CONTEXT, type Span, SpanKind, propagation, trace } from '@opentelemetry/api'
import type { Context, MiddlewareHandler } from 'hono'
import type { PipelineEnv } from '../pipeline/env.ts'
import {
  ATTR_ERROR_TYPE,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SWITCHYARD_CACHE,
  ATTR_SWITCHYARD_REQUEST_ID,
  ATTR_URL_PATH,
  ERROR_TYPE_CANCELLED,
  GEN_AI_OPERATIONS,
} from '../telemetry/attributes.ts'
import { HEADERS_GETTER, endOnce, errorTypeOf, getTracer } from '../telemetry/spans.ts'

/** The route template that matched (never the raw path of an unknown URL), e.g. `/v1/chat/completions`. */
function matchedRoute(c: Context<PipelineEnv>): string | undefined {
  return c.req.matchedRoutes.find((r) => r.method !== 'ALL')?.path
}

const isCacheHit = (status: string | undefined) => status === 'hit' || status === 'semantic-hit'

/**
 * The `response` PipelineEvent for pipeline requests that forward did not finish: errors (404, 503,
 * all attempts failed) and answers shared from another request. A cache hit has its own `cache`
 * event and no `response`; a forwarded answer emits its own when the body ends.
 */
function emitUnfinished(c: Context<PipelineEnv>): void {
  const request = c.get('request')
  const responded = c.get('responded')
  const cacheStatus = c.get('cacheStatus')
  const selection = c.get('selection')
  const target = c.get('target')
  const deps = c.get('deps')
  if (!request || responded || isCacheHit(cacheStatus)) return
  if (!c.error && selection) return
  c.set('responded', true)
  deps.emit({
    stage: 'response', requestId: c.get('requestId'), timeMs: Date.now(), status: c.res.status, error: c.error?.message,
    backend: selection?.backend, model: selection?.model, durationMs: performance.now() - c.get('startedMs'),
    route: target?.kind === 'route' ? target.name : undefined, classification: c.get('classification'), cache: cacheStatus,
  })
}

function finishSpan(c: Context<PipelineEnv>, span: Span): void {
  const status = c.res.status
  const route = matchedRoute(c)
  if (route) span.updateName(`${c.req.method} ${route}`)
  span.setAttributes({
    [ATTR_HTTP_RESPONSE_STATUS_CODE]: status,
    ...(route ? { [ATTR_HTTP_ROUTE]: route } : {}),
    ...(c.get('cacheStatus') ? { [ATTR_SWITCHYARD_CACHE]: c.get('cacheStatus') } : {}),
  })
  const request = c.get('request')
  if (request) {
    span.setAttributes({ [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATIONS[request.operation], [ATTR_GEN_AI_REQUEST_MODEL]: request.model })
  }
  const end = endOnce(span)
  // Server spans: 4xx leaves the status unset (the client's mistake), 5xx and 499 are errors.
  if (status >= 500 || status === 499) {
    const error = c.error ?? new Error(`HTTP ${status}`)
    return end({ error, type: status === 499 ? ERROR_TYPE_CANCELLED : c.error ? errorTypeOf(c.error) : String(status) })
  }
  if (c.error) span.setAttribute(ATTR_ERROR_TYPE, errorTypeOf(c.error))
  // Streams end the span when their body ends; other answers have ended already.
  c.get('bodyEnd').add(end)
}

/** SERVER span for POST requests (the model endpoints and /router/explain); GETs are metadata and go untraced. */
export function traceRequest(): MiddlewareHandler<PipelineEnv> {
  return async function traceRequest(c, next) {
    if (c.req.method !== 'POST') return next()
    const parent = propagation.extract(ROOT_CONTEXT, c.req.raw.headers, HEADERS_GETTER)
    const span = getTracer().startSpan(c.req.method, { kind: SpanKind.SERVER }, parent)
    const recording = span.isRecording()
    if (recording) {
      span.setAttributes({ [ATTR_HTTP_REQUEST_METHOD]: c.req.method, [ATTR_URL_PATH]: c.req.path, [ATTR_SWITCHYARD_REQUEST_ID]: c.get('requestId') })
    }
    c.set('traceContext', trace.setSpan(parent, span))
    c.set('span', span)
    try {
      await next()
    } finally {
      emitUnfinished(c)
      if (recording) finishSpan(c, span)
    }
  }
}
