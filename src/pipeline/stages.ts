/** The pipeline stages: parse -> cache lookup -> classify -> select -> forward -> cache store. */
import type { MiddlewareHandler } from 'hono'
import { type Lookup, cacheKey, cacheRuntime, eligibleCaches, followFlight, lookupCache, replayEntry, storeEntry, targetModel } from './cache.ts'
import { CANCELLED } from './body-end.ts'
import type { RequestContext, Stage } from './context.ts'
import type { PipelineEnv } from './env.ts'
import { conversationKey, conversationOf, holdClass, noteTurn, preferBackend } from './affinity.ts'
import { type ForwardEnd, forward } from './forward.ts'
import { type GenerationFigures, accountGpu } from './gpu-time.ts'
import { escalationOf, forwardChecked } from './escalate.ts'
import { type Target, candidatesFor, classifyRequest, policyOf, resolveTarget, routeFor, selectBackend, teamRoute } from './route.ts'
import { allowsModel, checkRequested } from './policy.ts'
import { readJsonBody } from '../protocols/body.ts'
import { ERROR_TYPE_STREAM } from '../telemetry/attributes.ts'
import { traceCacheLookup, traceClassify, traceSelect } from '../telemetry/decision.ts'
import { parseOllama } from '../protocols/ollama/parse.ts'
import { parseOpenAI } from '../protocols/openai/parse.ts'
import { type AuditRecord, type CacheStatus, type Classification, type EscalationRecord, type GpuUse, type Operation, type Protocol, type Selection, TASK_CLASSES, type TaskClass, isCacheHit } from '../plugin/types.ts'
import { InvalidRequestError } from '../errors.ts'

/** Header values must be printable ASCII: anything else becomes '?', and long values are cut. */
const UNSAFE = /[^\x20-\x7e]/

export function headerSafe(value: string): string {
  const clean = UNSAFE.test(value) ? value.replace(/[^\x20-\x7e]/g, '?') : value
  return clean.length > 1000 ? `${clean.slice(0, 997)}...` : clean
}

export function parseStage(protocol: Protocol, operation: Operation): Stage {
  return async function parse(ctx, next) {
    const { deps } = ctx
    const clientKey = deps.auth.client(ctx.req)
    ctx.clientKey = clientKey
    const { bytes, json } = await readJsonBody(ctx.req, deps.config.server.maxBodyBytes)
    const request = protocol === 'openai' ? parseOpenAI(operation, json) : parseOllama(operation, json)
    ctx.request = request
    ctx.raw = bytes
    // From here on the request ends with exactly one last event (a response, or a cache hit), also on errors.
    deps.emit({ stage: 'request', requestId: ctx.requestId, timeMs: Date.now(), request })
    const target = resolveTarget(deps, request.model)
    // A team may have its own candidates and bias for a route.
    ctx.target = target.kind === 'route' && clientKey?.team ? { ...target, route: teamRoute(clientKey.team, target.name, target.route) } : target
    if (ctx.target.kind === 'route') ctx.forced = forcedClass(ctx.req)
    ctx.policy = policyOf(deps, clientKey)
    checkRequested(ctx.policy, request.model, ctx.target.kind === 'route')
    if (clientKey) {
      // Admission reserves the request's tokens; forward settles them to the real count, anything else refunds them.
      const admitted = await clientKey.admit(request)
      ctx.clientKey = admitted
      ctx.bodyEnd.add(() => admitted.settle(0))
    }
    return next()
  }
}

function emitCache(ctx: RequestContext, cache: CacheStatus): void {
  ctx.cacheStatus = cache
  // A hit is the request's last event: it carries the request, its duration and its upstream tokens (none).
  ctx.deps.emit(isCacheHit(cache)
    ? { stage: 'cache', requestId: ctx.requestId, timeMs: Date.now(), cache, request: ctx.request, durationMs: performance.now() - ctx.startedMs, client: ctx.clientKey?.name, team: ctx.clientKey?.team?.name, route: ctx.target.kind === 'route' ? ctx.target.name : undefined, inputTokens: 0, outputTokens: 0 }
    : { stage: 'cache', requestId: ctx.requestId, timeMs: Date.now(), cache })
}

/** What a lookup means for the request: a hit (exact or by similarity), a miss, or a bypass when every cache failed. */
function lookupStatus({ hit, failed }: Lookup): CacheStatus {
  if (hit) return hit.similarity === undefined ? 'hit' : 'semantic-hit'
  return failed ? 'bypass' : 'miss'
}

/** Stages skipped for a request call `next` directly: no async frame of their own. */
export const cacheStage: Stage = function cacheLookup(ctx, next) {
  return ctx.deps.plugins.of('cache').length === 0 ? next() : lookupThenForward(ctx, next)
}

async function lookupThenForward(ctx: RequestContext, next: () => Promise<Response>): Promise<Response> {
  const { deps, request, target } = ctx
  const control = ctx.req.headers.get('cache-control') ?? ''
  const caches = eligibleCaches(deps, request)
  // no-store: neither look up nor store; no-cache: skip the lookup (and single-flight), still store the answer.
  if (caches.length === 0 || /\bno-store\b/i.test(control)) {
    emitCache(ctx, 'bypass')
    return next()
  }
  // A forced class is a different answer than the route's own choice, and so is a team's own version of a route:
  // each has its own entries.
  const team = target.kind === 'route' && ctx.clientKey?.team && target.route !== routeFor(deps, target.name) ? `@${ctx.clientKey.team.name}` : ''
  const key = cacheKey(request, `${targetModel(target)}${ctx.forced ? `#${ctx.forced}` : ''}${team}`)
  ctx.cacheKey = key
  ctx.cacheStore = true
  if (/\bno-cache\b/i.test(control)) {
    emitCache(ctx, 'bypass')
    return next()
  }
  let lookup = traceCacheLookup(ctx, () => lookupCache(deps, caches, key, request, target, ctx.signal), lookupStatus)
  if (lookup instanceof Promise) lookup = await lookup
  // An answer by a model this client may not use is not served to it (another key stored it).
  if (lookup.hit && !allowsModel(ctx.policy, lookup.hit.model)) lookup = { ...lookup, hit: undefined }
  const status = lookupStatus(lookup)
  emitCache(ctx, status)
  const { hit } = lookup
  if (hit) {
    return replayEntry(hit, request, {
      'x-switchyard-model': headerSafe(hit.model),
      'x-switchyard-backend': headerSafe(hit.backend),
      'x-switchyard-cache': status,
      ...(hit.similarity === undefined ? {} : { 'x-switchyard-cache-similarity': hit.similarity.toFixed(4) }),
    })
  }
  const { flights } = cacheRuntime(deps)
  // A client limited to some models does not follow another's answer (its model is not known until it is sent).
  const flight = ctx.policy?.models ? undefined : flights.join(key)
  if (flight) return (await followFlight(flight, request)) ?? next()
  const leader = flights.lead(key)
  ctx.flightTap = leader
  let res: Response
  try {
    res = await next()
  } catch (error) {
    // No answer to share (the leader's client left, or every attempt failed): the followers run on their own.
    leader.abandon()
    throw error
  }
  // forward answered: with the whole text, or with a relayed stream that feeds the flight itself.
  const answer = ctx.answer
  if (answer) leader.share(res.status, answer.headers, answer.text)
  else leader.abandon()
  return res
}

/** The class a client asks for with `x-switchyard-class` (any case); a value that is not a class is a 400. */
export function forcedClass(req: Request): TaskClass | undefined {
  const value = req.headers.get('x-switchyard-class')
  if (value === null) return undefined
  const label = value.trim().toUpperCase()
  if (!(TASK_CLASSES as readonly string[]).includes(label)) {
    throw new InvalidRequestError(`x-switchyard-class: "${headerSafe(value)}" is not a class; use one of ${TASK_CLASSES.join(', ')}`)
  }
  return label as TaskClass
}

/** The client's class wins; the classifier's own answer stays in the reasons (and its features are kept for training). */
function forceClass(c: Classification, label: TaskClass): Classification {
  const scores = { SIMPLE: 0, MODERATE: 0, COMPLEX: 0, [label]: 1 }
  return { ...c, label, confidence: 1, scores, forced: true, reasons: [`forced ${label} by x-switchyard-class`, `classifier said ${c.label} ${c.confidence.toFixed(2)}`, ...c.reasons] }
}

export const classifyStage: Stage = function classify(ctx, next) {
  const { target } = ctx
  return target.kind === 'route' ? classifyThenForward(ctx, target, next) : next()
}

async function classifyThenForward(ctx: RequestContext, target: Extract<Target, { kind: 'route' }>, next: () => Promise<Response>): Promise<Response> {
  const { deps } = ctx
  const { forced } = ctx
  const key = target.route.affinity ? conversationKey(ctx.request, ctx.clientKey?.name) : undefined
  const prior = key ? conversationOf(deps.learning.conversations, key) : undefined
  if (key) ctx.conversation = { key, prior }
  const classify = () => classifyRequest(deps, ctx.request, target.route, ctx.signal)
  // A class the client forces wins; otherwise a conversation never steps down.
  const decide = forced ? () => classify().then((c) => forceClass(c, forced)) : prior ? () => classify().then((c) => holdClass(c, prior)) : classify
  const classification = await traceClassify(ctx, target.name, decide)
  ctx.classification = classification
  deps.emit({ stage: 'classify', requestId: ctx.requestId, timeMs: Date.now(), route: target.name, classification })
  return next()
}

export const selectStage: Stage = async function select(ctx, next) {
  const { deps, request, target, classification } = ctx
  const candidates = candidatesFor(deps, target, classification, ctx.policy)
  ctx.policyNote = candidates.policyNote
  const { conversation } = ctx
  const selected = await traceSelect(ctx, candidates.models, classification, () => selectBackend(deps, request, target, classification, candidates, ctx.signal))
  const selection = conversation ? preferBackend(selected, conversation.prior) : selected
  if (conversation && classification) noteTurn(deps.learning.conversations, conversation, classification.label, selection)
  ctx.selection = selection
  deps.emit({ stage: 'select', requestId: ctx.requestId, timeMs: Date.now(), selection, backend: selection.backend, model: selection.model })
  return next()
}

function reasonHeader(ctx: RequestContext, answered: { model: string; backend: string }, notes: readonly string[]): string | undefined {
  const { target, classification, selection, request } = ctx
  const parts: string[] = []
  if (classification) parts.push(`${classification.label} ${classification.confidence.toFixed(2)} by ${classification.classifier ?? 'classifier'}: ${classification.reasons.join(', ')}`)
  if (ctx.policyNote) parts.push(ctx.policyNote)
  if (target.kind === 'model' && answered.model !== target.model) parts.push(`fallback: "${request.model}" unavailable, answered by "${answered.model}" (models.${target.model}.fallbacks)`)
  parts.push(...notes)
  if (notes.length === 0 && target.kind === 'route' && selection) parts.push(...selection.reasons)
  return parts.length ? parts.join('; ') : undefined
}

/** What a checked answer adds to the plain one: earlier generations, audits, the escalation, notes for the reason header. */
export interface AnswerExtras {
  /** GPU time of generations before this answer (rejected drafts, a cancelled parallel generation). */
  readonly prior?: readonly GpuUse[]
  readonly audits?: readonly AuditRecord[]
  /** GPU seconds the audits' judges spent. */
  readonly auditGpuSeconds?: number
  readonly escalation?: EscalationRecord
  /** Said in `x-switchyard-reason` after the decision's own reasons. */
  readonly notes?: readonly string[]
}

/** The response headers naming what answered and why. */
export function answerHeaders(ctx: RequestContext, option: { model: string; backend: string }, attemptNotes: readonly string[], extras: AnswerExtras = {}): Record<string, string> {
  const { classification, cacheStatus } = ctx
  const headers: Record<string, string> = { 'x-switchyard-model': headerSafe(option.model), 'x-switchyard-backend': headerSafe(option.backend) }
  if (classification) headers['x-switchyard-class'] = extras.escalation?.label ?? classification.label
  const reason = reasonHeader(ctx, option, extras.notes ? [...attemptNotes, ...extras.notes] : attemptNotes)
  if (reason) headers['x-switchyard-reason'] = headerSafe(reason)
  if (cacheStatus) headers['x-switchyard-cache'] = cacheStatus
  if (extras.escalation) headers['x-switchyard-escalated'] = headerSafe(`${extras.escalation.from} -> ${extras.escalation.to}`)
  const audit = extras.audits?.at(-1)
  if (audit) headers['x-switchyard-audit'] = `${audit.outcome} ${audit.score.toFixed(2)}`
  return headers
}

/** The GPU figures of a finished attempt, timed from when it was sent upstream. */
export function figuresOf(ctx: RequestContext, end: ForwardEnd, streamed: boolean): GenerationFigures {
  const now = performance.now()
  const firstByte = streamed && end.ttftMs !== undefined ? (ctx.startedMs + end.ttftMs - end.upstreamStartedMs) / 1000 : undefined
  return {
    inputTokens: end.inputTokens, outputTokens: end.outputTokens, promptSeconds: end.promptSeconds, evalSeconds: end.evalSeconds,
    wallSeconds: (now - end.upstreamStartedMs) / 1000, firstByteSeconds: firstByte, cancelled: end.cancelled || !end.ok,
  }
}

/**
 * The request's end once its answer has ended: tokens settled, body-end hooks (unless the body is still being
 * replayed: its end fires them), and the `response` event with the request's GPU account. `answerSeconds` is the
 * answer's GPU time when it was measured already (a buffered draft).
 */
export function finishAnswer(ctx: RequestContext, end: ForwardEnd, extras: AnswerExtras = {}, answerSeconds?: number, fire = true): void {
  const { deps, request, target, classification, cacheStatus, clientKey, startedMs, bodyEnd, requestId, selection } = ctx
  ctx.responded = true
  const seconds = answerSeconds ?? deps.learning.gpu.measure(end.model, figuresOf(ctx, end, request.stream))
  const uses = [...(extras.prior ?? []), { model: end.model, backend: end.backend, seconds, role: 'answer' as const }]
  // Before the body-end hooks: they refund the whole reservation of a request that got no answer.
  clientKey?.settle((end.inputTokens ?? 0) + (end.outputTokens ?? 0), uses.reduce((sum, u) => sum + u.seconds, 0))
  if (fire) bodyEnd.fire(end.cancelled ? CANCELLED : end.ok ? undefined : { error: new Error(end.error ?? 'upstream failed'), type: ERROR_TYPE_STREAM })
  // An escalated conversation continues at the class that answered it (it never steps down).
  const { conversation } = ctx
  if (extras.escalation && conversation && end.ok) noteTurn(deps.learning.conversations, conversation, extras.escalation.label, end)
  const overhead = (classification?.gpuSeconds ?? 0) + (extras.auditGpuSeconds ?? 0)
  const route = target.kind === 'route' ? target.route : undefined
  const account = accountGpu(deps.learning.gpu, deps.health, route, end.ok ? end : undefined, uses, overhead)
  deps.emit({
    stage: 'response', requestId, timeMs: Date.now(), client: clientKey?.name, team: clientKey?.team?.name, backend: end.backend, model: end.model, status: end.ok ? 200 : end.cancelled ? 499 : 502,
    error: end.error, durationMs: performance.now() - startedMs, ttftMs: end.ttftMs, inputTokens: end.inputTokens,
    outputTokens: end.outputTokens, tokensEstimated: end.tokensEstimated || undefined, fallbackCount: end.attempts - 1, route: target.kind === 'route' ? target.name : undefined,
    classification, cache: cacheStatus, request, selection, ...account, audits: extras.audits, escalation: extras.escalation,
  })
}

/** Forward the request to `selection` (its options in order) and relay the answer; `extras` when it follows a draft. */
export async function sendAnswer(ctx: RequestContext, selection: Selection, extras: AnswerExtras = {}, onFailedRead?: () => boolean): Promise<Response> {
  const { deps, request, target, startedMs } = ctx
  const key = ctx.cacheStore ? ctx.cacheKey : undefined
  let returned = false
  const forwarded = await forward(deps, {
    request,
    raw: ctx.raw,
    selection,
    clientSignal: ctx.signal,
    startedMs,
    traceContext: ctx.traceContext,
    traceparent: ctx.req.headers.get('traceparent') ?? undefined,
    tap: ctx.flightTap,
    onComplete: key ? (entry) => storeEntry(deps, key, entry, request, target) : undefined,
    headers: (option, notes) => answerHeaders(ctx, option, notes, extras),
    onEnd: (end) => {
      // A whole answer that broke while being read, before anything was sent: the caller may answer otherwise.
      if (!returned && !end.ok && !end.cancelled && onFailedRead?.()) return
      finishAnswer(ctx, end, extras)
    },
  })
  returned = true
  ctx.answer = forwarded
  return forwarded.response
}

export const forwardStage: Stage = function forwardToBackend(ctx) {
  // Model loads can take minutes before a first byte: our own deadlines apply, not the server's idle timer.
  ctx.server?.timeout?.(ctx.req, 0)
  const plan = escalationOf(ctx)
  return plan ? forwardChecked(ctx, plan) : sendAnswer(ctx, ctx.selection!)
}

/** Client keys on the listing endpoints (a 401 in the endpoint's protocol shape); generation routes check in parse. */
export const authStage: MiddlewareHandler<PipelineEnv> = async function authenticate(c, next) {
  c.get('deps').auth.client(c.req.raw)
  await next()
}
