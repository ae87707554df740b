/** One request's outer telemetry: the SERVER span (honours `traceparent`, ends with the body, once) and the final event. */
import { ROOT_CONTEXT, SpanKind, propagation, trace } from '@opentelemetry/api'
import type { MiddlewareHandler } from 'hono'
import { type RequestContext, pathOf } from '../pipeline/context.ts'
import { isCacheHit } from '../plugin/types.ts'
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
import { HEADERS_GETTER, endOnce, errorTypeOf, getTracer, tracingEnabled } from '../telemetry/spans.ts'

/**
 * The `response` PipelineEvent for pipeline requests that forward did not finish: errors (404, 503,
 * all attempts failed) and answers shared from another request. A cache hit has its own `cache`
 * event and no `response`; a forwarded answer emits its own when the body ends.
 */
function emitUnfinished(ctx: RequestContext, status: number): void {
  const { request, selection, target, cacheStatus } = ctx
  if (!request || ctx.responded || isCacheHit(cacheStatus)) return
  if (!ctx.error && selection) return
  ctx.responded = true
  ctx.deps.emit({
    stage: 'response', requestId: ctx.requestId, timeMs: Date.now(), client: ctx.clientKey?.name, team: ctx.clientKey?.team?.name, status, error: ctx.error?.message,
    backend: selection?.backend, model: selection?.model, durationMs: performance.now() - ctx.startedMs,
    route: target?.kind === 'route' ? target.name : undefined, classification: ctx.classification, cache: cacheStatus, request, selection,
  })
}

/** Starts the SERVER span of a POST request (the model endpoints and /router/explain); GETs are metadata and go untraced. */
export function startRequestSpan(ctx: RequestContext): void {
  const { req } = ctx
  if (req.method !== 'POST' || !tracingEnabled()) return
  const parent = propagation.extract(ROOT_CONTEXT, req.headers, HEADERS_GETTER)
  const span = getTracer().startSpan('POST', { kind: SpanKind.SERVER }, parent)
  ctx.span = span
  ctx.traceContext = trace.setSpan(parent, span)
  if (!span.isRecording()) return
  span.setAttributes({ [ATTR_HTTP_REQUEST_METHOD]: req.method, [ATTR_URL_PATH]: pathOf(req.url), [ATTR_SWITCHYARD_REQUEST_ID]: ctx.requestId })
}

/** Emits the final event when nothing else did, and finishes the SERVER span (a stream's ends with its body). */
export function finishRequest(ctx: RequestContext, status: number): void {
  emitUnfinished(ctx, status)
  const span = ctx.span
  if (!span?.isRecording()) return
  const { route, request, cacheStatus, error } = ctx
  if (route) span.updateName(`POST ${route}`)
  span.setAttributes({
    [ATTR_HTTP_RESPONSE_STATUS_CODE]: status,
    ...(route ? { [ATTR_HTTP_ROUTE]: route } : {}),
    ...(cacheStatus ? { [ATTR_SWITCHYARD_CACHE]: cacheStatus } : {}),
  })
  if (request) {
    span.setAttributes({ [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATIONS[request.operation], [ATTR_GEN_AI_REQUEST_MODEL]: request.model })
  }
  const end = endOnce(span)
  // Server spans: 4xx leaves the status unset (the client's mistake), 5xx and 499 are errors.
  if (status >= 500 || status === 499) {
    return end({ error: error ?? new Error(`HTTP ${status}`), type: status === 499 ? ERROR_TYPE_CANCELLED : error ? errorTypeOf(error) : String(status) })
  }
  if (error) span.setAttribute(ATTR_ERROR_TYPE, errorTypeOf(error))
  // Streams end the span when their body ends; other answers have ended already.
  ctx.bodyEnd.add(end)
}

/** The SERVER span around Hono-served POST routes (the pipeline's own routes call the functions above directly). */
export function traceRequest(): MiddlewareHandler<PipelineEnv> {
  return async function traceRequest(c, next) {
    const ctx = c.get('ctx')
    startRequestSpan(ctx)
    try {
      await next()
    } finally {
      if (c.error) ctx.error = c.error
      ctx.route ??= c.req.matchedRoutes.find((r) => r.method !== 'ALL')?.path
      finishRequest(ctx, c.res.status)
    }
  }
}
