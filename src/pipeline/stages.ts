/** The pipeline as Hono middleware: parse -> cache lookup -> classify -> select -> forward -> cache store. */
import type { Context, MiddlewareHandler } from 'hono'
import { cacheKey, isCacheable, lookupCache, replayEntry, storeEntry } from './cache.ts'
import type { PipelineEnv } from './env.ts'
import { forward } from './forward.ts'
import { candidatesFor, classifyRequest, resolveTarget, selectBackend } from './route.ts'
import { readJsonBody } from '../protocols/body.ts'
import { parseOllama } from '../protocols/ollama/parse.ts'
import { parseOpenAI } from '../protocols/openai/parse.ts'
import type { Operation, Protocol } from '../plugin/types.ts'

let sequence = 0
const idPrefix = Math.random().toString(36).slice(2, 8)

/** Header values must be printable ASCII: anything else becomes '?', and long values are cut. */
export function headerSafe(value: string): string {
  const clean = value.replace(/[^\x20-\x7e]/g, '?')
  return clean.length > 1000 ? `${clean.slice(0, 997)}...` : clean
}

export function parseStage(protocol: Protocol, operation: Operation): MiddlewareHandler<PipelineEnv> {
  return async function parse(c, next) {
    const deps = c.var.deps
    const { bytes, json } = await readJsonBody(c.req.raw, deps.config.server.maxBodyBytes)
    const request = protocol === 'openai' ? parseOpenAI(operation, json) : parseOllama(operation, json)
    c.set('request', request)
    c.set('raw', bytes)
    c.set('target', resolveTarget(deps, request.model))
    deps.emit({ stage: 'request', requestId: c.var.requestId, timeMs: Date.now(), request })
    await next()
  }
}

export const cacheStage: MiddlewareHandler<PipelineEnv> = async function cacheLookup(c, next) {
  const deps = c.var.deps
  const caches = deps.plugins.of('cache')
  if (caches.length === 0) return next()
  const request = c.var.request
  const control = c.req.header('cache-control') ?? ''
  const cacheable = isCacheable(request)
  const lookup = cacheable && !/no-cache|no-store/.test(control)
  c.set('cacheStore', cacheable && !/no-store/.test(control))
  if (!cacheable) c.set('cacheStatus', 'bypass')
  if (!lookup) return next()
  const key = cacheKey(request)
  c.set('cacheKey', key)
  const hit = await lookupCache(deps, key, request, c.req.raw.signal)
  deps.emit({ stage: 'cache', requestId: c.var.requestId, timeMs: Date.now(), cache: hit ? 'hit' : 'miss' })
  if (!hit) {
    c.set('cacheStatus', 'miss')
    return next()
  }
  const status = hit.similarity === undefined ? 'hit' : 'semantic-hit'
  c.set('cacheStatus', status)
  c.res = replayEntry(hit, request)
  c.header('x-switchyard-model', headerSafe(hit.model))
  c.header('x-switchyard-backend', headerSafe(hit.backend))
  c.header('x-switchyard-cache', status)
  if (hit.similarity !== undefined) c.header('x-switchyard-cache-similarity', hit.similarity.toFixed(4))
}

export const classifyStage: MiddlewareHandler<PipelineEnv> = async function classify(c, next) {
  const target = c.var.target
  if (target.kind === 'route') {
    const deps = c.var.deps
    const classification = await classifyRequest(deps, c.var.request, target.route, c.req.raw.signal)
    c.set('classification', classification)
    deps.emit({ stage: 'classify', requestId: c.var.requestId, timeMs: Date.now(), route: target.name, classification })
  }
  await next()
}

export const selectStage: MiddlewareHandler<PipelineEnv> = async function select(c, next) {
  const deps = c.var.deps
  const { request, target, classification } = c.var
  const candidates = candidatesFor(deps, target, classification)
  const selection = await selectBackend(deps, request, target, classification, candidates, c.req.raw.signal)
  c.set('selection', selection)
  deps.emit({ stage: 'select', requestId: c.var.requestId, timeMs: Date.now(), selection, backend: selection.backend, model: selection.model })
  await next()
}

function reasonHeader(c: Context<PipelineEnv>, answered: { model: string; backend: string }, notes: readonly string[]): string | undefined {
  const { target, classification, selection, request } = c.var
  const parts: string[] = []
  if (classification) parts.push(`${classification.label} ${classification.confidence.toFixed(2)} by ${classification.classifier ?? 'classifier'}: ${classification.reasons.join(', ')}`)
  if (target.kind === 'model' && answered.model !== target.model) parts.push(`fallback: "${request.model}" unavailable, answered by "${answered.model}" (models.${target.model}.fallbacks)`)
  parts.push(...notes)
  if (notes.length === 0 && target.kind === 'route') parts.push(...selection.reasons)
  return parts.length ? parts.join('; ') : undefined
}

export const forwardStage: MiddlewareHandler<PipelineEnv> = async function forwardToBackend(c) {
  const deps = c.var.deps
  const { request, raw, selection, requestId } = c.var
  // Model loads can take minutes before a first byte: our own deadlines apply, not the server's idle timer.
  c.env?.timeout?.(c.req.raw, 0)
  const key = c.var.cacheStore ? (c.var.cacheKey ?? cacheKey(request)) : undefined
  const forwarded = await forward(deps, {
    request,
    raw,
    selection,
    clientSignal: c.req.raw.signal,
    startedMs: c.var.startedMs,
    traceparent: c.req.header('traceparent'),
    onComplete: key ? (entry) => storeEntry(deps, key, entry, request) : undefined,
    onEnd: (end) =>
      deps.emit({
        stage: 'response', requestId, timeMs: Date.now(), backend: end.backend, model: end.model, status: end.ok ? 200 : 502,
        error: end.error, durationMs: performance.now() - c.var.startedMs, ttftMs: end.ttftMs, inputTokens: end.inputTokens,
        outputTokens: end.outputTokens, fallbackCount: end.attempts - 1, route: c.var.target.kind === 'route' ? c.var.target.name : undefined,
        classification: c.var.classification, cache: c.var.cacheStatus,
      }),
  })
  c.res = forwarded.response
  c.header('x-switchyard-model', headerSafe(forwarded.option.model))
  c.header('x-switchyard-backend', headerSafe(forwarded.option.backend))
  if (c.var.classification) c.header('x-switchyard-class', c.var.classification.label)
  const reason = reasonHeader(c, forwarded.option, forwarded.attemptNotes)
  if (reason) c.header('x-switchyard-reason', headerSafe(reason))
  if (c.var.cacheStatus) c.header('x-switchyard-cache', c.var.cacheStatus)
}

export function startStage(): MiddlewareHandler<PipelineEnv> {
  return async function start(c, next) {
    c.set('requestId', `${idPrefix}-${(++sequence).toString(36)}`)
    c.set('startedMs', performance.now())
    await next()
  }
}
