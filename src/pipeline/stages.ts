/** The pipeline as Hono middleware: parse -> cache lookup -> classify -> select -> forward -> cache store. */
import type { Context, MiddlewareHandler } from 'hono'
import { cacheKey, cacheRuntime, eligibleCaches, followFlight, lookupCache, replayEntry, storeEntry, targetModel } from './cache.ts'
import { CANCELLED } from './body-end.ts'
import type { CacheStatus, PipelineEnv } from './env.ts'
import { forward } from './forward.ts'
import { candidatesFor, classifyRequest, resolveTarget, selectBackend } from './route.ts'
import { checkModelAllowed } from '../http/auth.ts'
import { readJsonBody } from '../protocols/body.ts'
import { type TraceParent, traceCacheLookup, traceClassify, traceSelect } from '../telemetry/decision.ts'
import { parseOllama } from '../protocols/ollama/parse.ts'
import { parseOpenAI } from '../protocols/openai/parse.ts'
import type { Operation, Protocol } from '../plugin/types.ts'

let sequence = 0
const idPrefix = Math.random().toString(36).slice(2, 8)

/** The request's SERVER span and its context, read once (Hono's `c.var` copies every variable on each read). */
function traceParent(c: Context<PipelineEnv>): TraceParent {
  return { span: c.get('span'), traceContext: c.get('traceContext') }
}

/** Header values must be printable ASCII: anything else becomes '?', and long values are cut. */
export function headerSafe(value: string): string {
  const clean = value.replace(/[^\x20-\x7e]/g, '?')
  return clean.length > 1000 ? `${clean.slice(0, 997)}...` : clean
}

export function parseStage(protocol: Protocol, operation: Operation): MiddlewareHandler<PipelineEnv> {
  return async function parse(c, next) {
    const deps = c.get('deps')
    const clientKey = deps.auth.client(c.req.raw)
    c.set('clientKey', clientKey)
    const { bytes, json } = await readJsonBody(c.req.raw, deps.config.server.maxBodyBytes)
    const request = protocol === 'openai' ? parseOpenAI(operation, json) : parseOllama(operation, json)
    c.set('request', request)
    c.set('raw', bytes)
    c.set('target', resolveTarget(deps, request.model))
    checkModelAllowed(clientKey, request.model)
    await clientKey?.admit()
    deps.emit({ stage: 'request', requestId: c.get('requestId'), timeMs: Date.now(), request })
    await next()
  }
}

export const cacheStage: MiddlewareHandler<PipelineEnv> = async function cacheLookup(c, next) {
  const deps = c.get('deps')
  if (deps.plugins.of('cache').length === 0) return next()
  const request = c.get('request')
  const target = c.get('target')
  const requestId = c.get('requestId')
  const control = c.req.header('cache-control') ?? ''
  const caches = eligibleCaches(deps, request)
  const emit = (cache: CacheStatus) => deps.emit({ stage: 'cache', requestId, timeMs: Date.now(), cache })
  // no-store: neither look up nor store; no-cache: skip the lookup (and single-flight), still store the answer.
  if (caches.length === 0 || /\bno-store\b/i.test(control)) {
    c.set('cacheStatus', 'bypass')
    emit('bypass')
    return next()
  }
  const key = cacheKey(request, targetModel(target))
  c.set('cacheKey', key)
  c.set('cacheStore', true)
  if (/\bno-cache\b/i.test(control)) {
    c.set('cacheStatus', 'bypass')
    emit('bypass')
    return next()
  }
  const { hit, failed } = await traceCacheLookup(traceParent(c), () => lookupCache(deps, caches, key, request, target, c.req.raw.signal), (r) => (r.hit ? (r.hit.similarity === undefined ? 'hit' : 'semantic-hit') : r.failed ? 'bypass' : 'miss'))
  if (hit) {
    const status = hit.similarity === undefined ? 'hit' : 'semantic-hit'
    c.set('cacheStatus', status)
    emit(status)
    // One Response with every header: Hono copies a finalized response on each later c.header().
    return replayEntry(hit, request, {
      'x-switchyard-model': headerSafe(hit.model),
      'x-switchyard-backend': headerSafe(hit.backend),
      'x-switchyard-cache': status,
      ...(hit.similarity === undefined ? {} : { 'x-switchyard-cache-similarity': hit.similarity.toFixed(4) }),
    })
  }
  c.set('cacheStatus', failed ? 'bypass' : 'miss')
  emit(failed ? 'bypass' : 'miss')
  const { flights } = cacheRuntime(deps)
  const flight = flights.join(key)
  if (flight) {
    const shared = await followFlight(flight, request)
    if (shared) {
      c.res = shared
      return
    }
    return next()
  }
  const leader = flights.lead(key)
  try {
    await next()
  } catch (error) {
    leader.abandon()
    throw error
  }
  // 499: the leader's client left before an answer; the followers still want one, so they run on their own.
  if (c.res.status === 499) leader.abandon()
  else c.res = leader.publish(c.res)
}

export const classifyStage: MiddlewareHandler<PipelineEnv> = async function classify(c, next) {
  const target = c.get('target')
  if (target.kind === 'route') {
    const deps = c.get('deps')
    const classification = await traceClassify(traceParent(c), target.name, () => classifyRequest(deps, c.get('request'), target.route, c.req.raw.signal))
    c.set('classification', classification)
    deps.emit({ stage: 'classify', requestId: c.get('requestId'), timeMs: Date.now(), route: target.name, classification })
  }
  await next()
}

export const selectStage: MiddlewareHandler<PipelineEnv> = async function select(c, next) {
  const deps = c.get('deps')
  const request = c.get('request')
  const target = c.get('target')
  const classification = c.get('classification')
  const candidates = candidatesFor(deps, target, classification)
  const selection = await traceSelect(traceParent(c), candidates.models, classification, () => selectBackend(deps, request, target, classification, candidates, c.req.raw.signal))
  c.set('selection', selection)
  deps.emit({ stage: 'select', requestId: c.get('requestId'), timeMs: Date.now(), selection, backend: selection.backend, model: selection.model })
  await next()
}

function reasonHeader(c: Context<PipelineEnv>, answered: { model: string; backend: string }, notes: readonly string[]): string | undefined {
  const target = c.get('target')
  const classification = c.get('classification')
  const selection = c.get('selection')
  const request = c.get('request')
  const parts: string[] = []
  if (classification) parts.push(`${classification.label} ${classification.confidence.toFixed(2)} by ${classification.classifier ?? 'classifier'}: ${classification.reasons.join(', ')}`)
  if (target.kind === 'model' && answered.model !== target.model) parts.push(`fallback: "${request.model}" unavailable, answered by "${answered.model}" (models.${target.model}.fallbacks)`)
  parts.push(...notes)
  if (notes.length === 0 && target.kind === 'route') parts.push(...selection.reasons)
  return parts.length ? parts.join('; ') : undefined
}

export const forwardStage: MiddlewareHandler<PipelineEnv> = async function forwardToBackend(c) {
  const deps = c.get('deps')
  const request = c.get('request')
  const raw = c.get('raw')
  const selection = c.get('selection')
  const requestId = c.get('requestId')
  const target = c.get('target')
  const classification = c.get('classification')
  const cacheStatus = c.get('cacheStatus')
  const clientKey = c.get('clientKey')
  const startedMs = c.get('startedMs')
  const bodyEnd = c.get('bodyEnd')
  // Model loads can take minutes before a first byte: our own deadlines apply, not the server's idle timer.
  c.env?.timeout?.(c.req.raw, 0)
  const key = c.get('cacheStore') ? c.get('cacheKey') : undefined
  const forwarded = await forward(deps, {
    request,
    raw,
    selection,
    clientSignal: c.req.raw.signal,
    startedMs,
    traceContext: c.get('traceContext'),
    traceparent: c.req.header('traceparent'),
    onComplete: key ? (entry) => storeEntry(deps, key, entry, request, target) : undefined,
    headers: (option, notes) => {
      const headers: Record<string, string> = { 'x-switchyard-model': headerSafe(option.model), 'x-switchyard-backend': headerSafe(option.backend) }
      if (classification) headers['x-switchyard-class'] = classification.label
      const reason = reasonHeader(c, option, notes)
      if (reason) headers['x-switchyard-reason'] = headerSafe(reason)
      if (cacheStatus) headers['x-switchyard-cache'] = cacheStatus
      return headers
    },
    onEnd: (end) => {
      c.set('responded', true)
      bodyEnd.fire(end.cancelled ? CANCELLED : end.ok ? undefined : { error: new Error(end.error ?? 'upstream failed'), type: 'stream' })
      if (end.inputTokens !== undefined || end.outputTokens !== undefined) clientKey?.charge((end.inputTokens ?? 0) + (end.outputTokens ?? 0))
      deps.emit({
        stage: 'response', requestId, timeMs: Date.now(), backend: end.backend, model: end.model, status: end.ok ? 200 : end.cancelled ? 499 : 502,
        error: end.error, durationMs: performance.now() - startedMs, ttftMs: end.ttftMs, inputTokens: end.inputTokens,
        outputTokens: end.outputTokens, fallbackCount: end.attempts - 1, route: target.kind === 'route' ? target.name : undefined,
        classification, cache: cacheStatus,
      })
    },
  })
  if (forwarded.response.body) c.set('relayBody', forwarded.response.body)
  // Returned, not assigned to c.res: Hono copies a finalized response on every later c.header().
  return forwarded.response
}

/** Client keys on the listing endpoints (a 401 in the endpoint's protocol shape); generation routes check in parse. */
export const authStage: MiddlewareHandler<PipelineEnv> = async function authenticate(c, next) {
  c.set('clientKey', c.get('deps').auth.client(c.req.raw))
  await next()
}

/** A request id, unique in this process, for events, logs and spans. */
export function nextRequestId(): string {
  return `${idPrefix}-${(++sequence).toString(36)}`
}
