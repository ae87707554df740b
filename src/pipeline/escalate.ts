/**
 * Draft and audit (a route's `escalate`): the class's model answers in full, an auditor scores that draft, and
 * below the threshold the next class's model answers instead.
 *
 * `buffer`: the draft is generated whole (non-streamed upstream) and audited; a passing draft is sent (a streaming
 * client gets it replayed as a stream), a failing one is replaced by the next class's answer, relayed live.
 * `parallel`: the next class's model starts at the same time on another backend; a passing draft is sent and the
 * larger generation cancelled at once, a failing one is dropped and the larger answer, already under way (its
 * frames kept while the draft was judged), is sent. With no second backend free it runs as `buffer` and says so.
 */
import type { EscalateConfig, RouteConfig } from '../config/schema.ts'
import { NoBackendError, messageOf } from '../errors.ts'
import type { LoadedPlugin } from '../plugin/load.ts'
import { type AuditRecord, type BackendView, type ChatRequest, type EscalationRecord, type GpuUse, type Selection, TASK_CLASSES, type TaskClass, classRank } from '../plugin/types.ts'
import { traceAudit } from '../telemetry/decision.ts'
import { CANCELLED } from './body-end.ts'
import { replayEntry, storeEntry } from './cache.ts'
import type { RequestContext } from './context.ts'
import { withDeadline } from './deadlines.ts'
import { type ForwardEnd, type Forwarded, contentTypeFor, forward } from './forward.ts'
import { routeCandidates } from './policy.ts'
import { answerOf, streamFrames } from './replay.ts'
import { selectBackend } from './route.ts'
import type { FlightTap } from './single-flight.ts'
import { type AnswerExtras, answerHeaders, figuresOf, finishAnswer, sendAnswer } from './stages.ts'

/** How long an auditor that names no `timeoutMs` may take before its draft passes unaudited. */
export const AUDIT_TIMEOUT_MS = 2_000

export interface EscalationPlan {
  readonly escalate: EscalateConfig
  readonly routeName: string
  readonly route: RouteConfig
  readonly label: TaskClass
  readonly auditor: LoadedPlugin<'auditor'>
}

/** The plan when the request is one to check: a route with `escalate`, a class it lists, not forced, not embeddings. */
export function escalationOf(ctx: RequestContext): EscalationPlan | undefined {
  const { target, classification, request } = ctx
  if (target.kind !== 'route' || !classification || classification.forced || request.operation === 'embed') return undefined
  const escalate = target.route.escalate
  if (!escalate || !escalate.classes.includes(classification.label)) return undefined
  const auditor = ctx.deps.plugins.of('auditor').find((p) => p.name === escalate.auditor)
  if (!auditor) return undefined
  return { escalate, routeName: target.name, route: target.route, label: classification.label, auditor }
}

/** One whole answer generated for auditing, with what it cost. */
interface Draft {
  readonly selection: Selection
  readonly end: ForwardEnd
  /** The body in the client's protocol, non-streamed shape, and that body parsed. */
  readonly text: string
  readonly json: Record<string, unknown>
  readonly gpuSeconds: number
}

/** The next class up with an allowed model other than `model`, as the client's policy filters it. */
function nextClass(ctx: RequestContext, plan: EscalationPlan, label: TaskClass, model: string): { label: TaskClass; models: readonly string[] } | undefined {
  for (const above of TASK_CLASSES.slice(classRank(label) + 1)) {
    if (plan.route[above].length === 0) continue
    const chosen = routeCandidates(ctx.policy, plan.routeName, plan.route, above)
    const models = chosen.models.filter((m) => m !== model && plan.route[above].includes(m))
    if (models.length > 0) return { label: above, models }
  }
  return undefined
}

/** The request as a whole (non-streamed) answer: `stream: false`, no `stream_options`. */
function wholeRequest(ctx: RequestContext): { request: ChatRequest; raw: Uint8Array } {
  const { stream_options: _, ...rest } = ctx.request.body
  const body = { ...rest, stream: false }
  return { request: { ...ctx.request, stream: false, body }, raw: new TextEncoder().encode(JSON.stringify(body)) }
}

/** Generates a whole answer on `selection` (its fallbacks too); throws when every attempt failed. */
async function generateDraft(ctx: RequestContext, selection: Selection): Promise<Draft> {
  const { request, raw } = wholeRequest(ctx)
  let end: ForwardEnd | undefined
  const forwarded = await forward(ctx.deps, {
    request, raw, selection, clientSignal: ctx.signal, startedMs: ctx.startedMs, traceContext: ctx.traceContext,
    onEnd: (e) => (end = e),
  })
  if (!end || forwarded.text === undefined) throw new Error('the draft ended without an answer')
  // A body that is not a JSON object cannot be audited or replayed: a failed draft.
  let json: unknown
  try {
    json = JSON.parse(forwarded.text)
  } catch {
    json = undefined
  }
  if (!json || typeof json !== 'object') throw new Error(`backend "${end.backend}" sent a draft that is not JSON`)
  const gpuSeconds = ctx.deps.learning.gpu.measure(end.model, figuresOf(ctx, end, false))
  return { selection: { ...selection, model: end.model, backend: end.backend }, end, text: forwarded.text, json: json as Record<string, unknown>, gpuSeconds }
}

/** The auditor's verdict on a draft: a throw or a timeout is `skipped` (the draft passes) with the reason. */
async function audit(ctx: RequestContext, plan: EscalationPlan, draft: Draft): Promise<AuditRecord & { gpuSeconds: number }> {
  const { auditor, escalate } = plan
  const answer = answerOf(ctx.request, draft.end.model, draft.json)
  const base = { auditor: auditor.name, model: draft.end.model, threshold: escalate.threshold }
  let gpuSeconds = 0
  const run = async (): Promise<AuditRecord> => {
    if (answer.toolCalls) return { ...base, score: 1, reasons: ['the draft calls tools: not audited'], outcome: 'skipped' }
    const ms = auditor.instance.timeoutMs ?? AUDIT_TIMEOUT_MS
    try {
      const result = await withDeadline(async (signal) => auditor.instance.audit(ctx.request, answer, signal), ms, ctx.signal)
      const score = Number(result.score)
      if (!Number.isFinite(score)) return { ...base, score: 1, reasons: [`auditor ${auditor.name} gave no score (${String(result.score)}); the draft passes`], outcome: 'skipped' }
      gpuSeconds = result.gpuSeconds ?? 0
      const clamped = Math.min(1, Math.max(0, score))
      return { ...base, score: clamped, reasons: [...(result.reasons ?? [])], outcome: clamped >= escalate.threshold ? 'pass' : 'fail' }
    } catch (error) {
      if (ctx.signal.aborted) throw error
      ctx.deps.log.warn('auditor failed; the draft passes', { plugin: auditor.name, error: messageOf(error) })
      return { ...base, score: 1, reasons: [`auditor ${auditor.name} failed (${messageOf(error)}); the draft passes`], outcome: 'skipped' }
    }
  }
  const record = await traceAudit(ctx, auditor.name, draft.end.model, run)
  return { ...record, gpuSeconds }
}

const auditNote = (a: AuditRecord) => `audit ${a.outcome} ${a.score.toFixed(2)} by ${a.auditor} (threshold ${a.threshold})${a.reasons.length ? `: ${a.reasons.join(', ')}` : ''}`
const escalationNote = (e: EscalationRecord) => `escalated ${e.from} -> ${e.to} (${e.reason === 'audit' ? 'audit below threshold' : 'draft failed'}, ${e.mode})`

/** Passes each chunk the client gets to single-flight followers, and ends their feed with the body. */
function feedTap(body: ReadableStream<Uint8Array>, tap: FlightTap | undefined): ReadableStream<Uint8Array> {
  if (!tap) return body
  const reader = body.getReader()
  const decoder = new TextDecoder()
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read()
        if (done) {
          tap.end('ok')
          controller.close()
          return
        }
        tap.push(decoder.decode(value, { stream: true }))
        controller.enqueue(value)
      } catch (error) {
        tap.end('aborted')
        controller.error(error)
      }
    },
    cancel(reason) {
      tap.end('aborted')
      return reader.cancel(reason)
    },
  })
}

/** Sends a whole draft: as it is, or replayed as the client's stream (as a cache entry is); stored in the cache like any answer. */
function sendDraft(ctx: RequestContext, draft: Draft, extras: AnswerExtras): Response {
  const { request, deps, target } = ctx
  const chunks = request.stream ? streamFrames(request, draft.json) : [draft.text]
  const entry = { status: 200, contentType: contentTypeFor(request), model: draft.end.model, backend: draft.end.backend, chunks, createdAt: Date.now() }
  if (ctx.cacheStore && ctx.cacheKey) storeEntry(deps, ctx.cacheKey, entry, request, target)
  finishAnswer(ctx, draft.end, extras, draft.gpuSeconds, !request.stream)
  const res = replayEntry(entry, request, answerHeaders(ctx, draft.selection, [], extras))
  const headers = Object.fromEntries(res.headers)
  if (!request.stream) {
    ctx.answer = { headers, text: draft.text }
    return res
  }
  ctx.answer = { headers }
  return new Response(feedTap(res.body!, ctx.flightTap), { status: 200, headers })
}

/** A backend for the next class other than the draft's (and off its GPUs when the config says which): parallel's second generation. */
async function secondBackend(ctx: RequestContext, models: readonly string[], draft: Selection): Promise<Selection | undefined> {
  const { deps } = ctx
  const gpusOf = (name: string) => deps.config.backends.find((b) => b.name === name)?.gpu
  const draftGpus = gpusOf(draft.backend)
  const free = (b: BackendView) => b.name !== draft.backend && b.up !== false && b.circuit !== 'open' && !(b.maxConcurrency !== undefined && b.inFlight >= b.maxConcurrency)
  const others = deps.health.views().filter(free)
  const offGpu = draftGpus ? others.filter((b) => !(gpusOf(b.name) ?? []).some((g) => draftGpus.includes(g))) : others
  const pool = offGpu.length > 0 ? offGpu : others
  if (pool.length === 0) return undefined
  try {
    const selection = await selectBackend(deps, ctx.request, ctx.target, ctx.classification, { models, substitutes: [] }, ctx.signal, pool)
    // The selector answers from the pool, fallbacks included: none may be the draft's backend.
    return { ...selection, fallbacks: selection.fallbacks?.filter((o) => o.backend !== draft.backend) }
  } catch (error) {
    if (error instanceof NoBackendError) return undefined
    throw error
  }
}

/** The next class's selection on any healthy backend (buffer mode); undefined when none serves it. */
async function nextSelection(ctx: RequestContext, models: readonly string[]): Promise<Selection | undefined> {
  try {
    return await selectBackend(ctx.deps, ctx.request, ctx.target, ctx.classification, { models, substitutes: [] }, ctx.signal)
  } catch (error) {
    if (error instanceof NoBackendError) return undefined
    throw error
  }
}

/** The request, checked: see the top of this file. */
export async function forwardChecked(ctx: RequestContext, plan: EscalationPlan): Promise<Response> {
  const selection = ctx.selection!
  const next = nextClass(ctx, plan, plan.label, selection.model)
  // Nowhere to escalate to (the client's policy allows nothing above): nothing to check the draft for.
  if (!next) return sendAnswer(ctx, selection, { notes: [`escalate: no allowed model above ${plan.label}; not audited`] })
  if (plan.escalate.mode === 'parallel') {
    const second = await secondBackend(ctx, next.models, selection)
    if (second) return runParallel(ctx, plan, selection, { label: next.label, selection: second })
    return runBuffered(ctx, plan, [`parallel: no second backend free for ${next.label}; buffered instead`])
  }
  return runBuffered(ctx, plan, [])
}

/** Buffer mode: draft, audit, then send it or go one class up (at most `maxEscalations` times). */
async function runBuffered(ctx: RequestContext, plan: EscalationPlan, notes: string[]): Promise<Response> {
  let selection = ctx.selection!
  let label = plan.label
  const prior: GpuUse[] = []
  const audits: AuditRecord[] = []
  let auditGpuSeconds = 0
  let best: Draft | undefined
  let escalation: EscalationRecord | undefined
  for (let step = 0; ; step++) {
    const next = nextClass(ctx, plan, label, selection.model)
    const audited = next !== undefined && step < plan.escalate.maxEscalations && plan.escalate.classes.includes(label)
    if (!audited) {
      // The last step: relayed live. When it fails before anything is sent, the best draft answers after all.
      const extras = { prior, audits, auditGpuSeconds, escalation, notes }
      try {
        return await sendAnswer(ctx, selection, extras, () => best !== undefined)
      } catch (error) {
        if (ctx.signal.aborted || !best) throw error
        const fellBack = [...notes, `escalation to ${selection.model} failed (${messageOf(error)}); answered with the draft`]
        return sendDraft(ctx, best, { prior: prior.filter((u) => u !== rejectedUse(best!)), audits, auditGpuSeconds, notes: fellBack })
      }
    }
    let draft: Draft | undefined
    let failure: string | undefined
    try {
      draft = await generateDraft(ctx, selection)
    } catch (error) {
      if (ctx.signal.aborted) throw error
      failure = messageOf(error)
    }
    if (draft) {
      const verdict = await audit(ctx, plan, draft)
      audits.push(verdict)
      auditGpuSeconds += verdict.gpuSeconds
      notes.push(auditNote(verdict))
      if (verdict.outcome !== 'fail') return sendDraft(ctx, draft, { prior, audits, auditGpuSeconds, escalation, notes })
      best = draft
      prior.push(rejectedUse(draft))
    } else notes.push(`draft ${selection.model}@${selection.backend} failed: ${failure}`)
    const chosen = await nextSelection(ctx, next.models)
    if (!chosen) {
      if (best) return sendDraft(ctx, best, { prior: prior.filter((u) => u !== rejectedUse(best!)), audits, auditGpuSeconds, notes: [...notes, `no backend serves ${next.label} (${next.models.join(', ')}); answered with the draft`] })
      throw new NoBackendError(`the draft failed (${failure}) and no healthy backend serves ${next.models.join(', ')}`)
    }
    escalation = { from: escalation?.from ?? selection.model, to: chosen.model, reason: draft ? 'audit' : 'draft_failed', mode: 'buffer', label: next.label }
    notes.push(escalationNote(escalation))
    selection = chosen
    label = next.label
  }
}

/** The rejected draft's GPU use, one object per draft (so it can be taken back out when the draft is sent after all). */
const rejectedUses = new WeakMap<Draft, GpuUse>()
function rejectedUse(draft: Draft): GpuUse {
  let use = rejectedUses.get(draft)
  if (!use) rejectedUses.set(draft, (use = { model: draft.end.model, backend: draft.end.backend, seconds: draft.gpuSeconds, role: 'rejected' }))
  return use
}

/**
 * Keeps reading a stream while nobody reads it (the larger generation runs on while the draft is judged), and
 * hands out what was kept, then the rest, once someone does.
 */
function readAhead(body: ReadableStream<Uint8Array>): { stream(): ReadableStream<Uint8Array>; cancel(reason: string): void } {
  const reader = body.getReader()
  const kept: Uint8Array[] = []
  let done = false
  let failure: unknown
  let wake: (() => void) | undefined
  void (async () => {
    try {
      for (;;) {
        const { done: end, value } = await reader.read()
        if (end) break
        kept.push(value)
        wake?.()
      }
    } catch (error) {
      failure = error
    }
    done = true
    wake?.()
  })()
  return {
    stream: () =>
      new ReadableStream<Uint8Array>({
        async pull(controller) {
          while (kept.length === 0 && !done) await new Promise<void>((resolve) => (wake = resolve))
          const chunk = kept.shift()
          if (chunk) controller.enqueue(chunk)
          else if (failure) controller.error(failure)
          else controller.close()
        },
        cancel: (reason) => reader.cancel(reason),
      }),
    cancel: (reason) => void reader.cancel(reason).catch(() => {}),
  }
}

/** Parallel mode: the draft and the next class's answer at once; the verdict picks one and cancels the other. */
async function runParallel(ctx: RequestContext, plan: EscalationPlan, draftSelection: Selection, larger: { label: TaskClass; selection: Selection }): Promise<Response> {
  const { deps, request, target } = ctx
  const stop = new AbortController()
  const signal = AbortSignal.any([ctx.signal, stop.signal])
  const key = ctx.cacheStore ? ctx.cacheKey : undefined
  let chosen: boolean | undefined
  let entry: Parameters<typeof storeEntry>[2] | undefined
  let resolveEnd!: (end: ForwardEnd) => void
  const ended = new Promise<ForwardEnd>((resolve) => (resolveEnd = resolve))
  const startedMs = performance.now()
  const pending: Promise<Forwarded> = forward(deps, {
    request, raw: ctx.raw, selection: larger.selection, clientSignal: signal, startedMs: ctx.startedMs, traceContext: ctx.traceContext,
    traceparent: ctx.req.headers.get('traceparent') ?? undefined,
    onComplete: key ? (e) => (chosen ? storeEntry(deps, key, e, request, target) : (entry = e)) : undefined,
    onEnd: resolveEnd,
  })
  const ahead = pending.then((f) => (f.relayed ? readAhead(f.response.body!) : undefined))
  // Settled either way below; an early failure must not go unhandled meanwhile.
  ahead.catch(() => {})
  const cancelLarger = (why: string): GpuUse => {
    stop.abort(new Error(why))
    void ahead.then((a) => a?.cancel(why), () => {})
    return { model: larger.selection.model, backend: larger.selection.backend, seconds: (performance.now() - startedMs) / 1000, role: 'cancelled' }
  }
  const notes: string[] = [`parallel: ${larger.selection.model}@${larger.selection.backend} started with the draft`]
  let draft: Draft | undefined
  let failure: string | undefined
  try {
    draft = await generateDraft(ctx, draftSelection)
  } catch (error) {
    if (ctx.signal.aborted) {
      cancelLarger('client disconnected')
      throw error
    }
    failure = messageOf(error)
  }
  const audits: AuditRecord[] = []
  let auditGpuSeconds = 0
  if (draft) {
    let verdict: Awaited<ReturnType<typeof audit>>
    try {
      verdict = await audit(ctx, plan, draft)
    } catch (error) {
      cancelLarger('client disconnected')
      throw error
    }
    audits.push(verdict)
    auditGpuSeconds = verdict.gpuSeconds
    notes.push(auditNote(verdict))
    if (verdict.outcome !== 'fail') {
      chosen = false
      const cancelled = cancelLarger('the draft passed its audit')
      notes.push(`${larger.selection.model} cancelled: the draft passed`)
      return sendDraft(ctx, draft, { prior: [cancelled], audits, auditGpuSeconds, notes })
    }
  } else notes.push(`draft ${draftSelection.model}@${draftSelection.backend} failed: ${failure}`)
  chosen = true
  const prior: GpuUse[] = draft ? [rejectedUse(draft)] : []
  const escalation: EscalationRecord = { from: draftSelection.model, to: larger.selection.model, reason: draft ? 'audit' : 'draft_failed', mode: 'parallel', label: larger.label }
  notes.push(escalationNote(escalation))
  let forwarded: Forwarded
  try {
    forwarded = await pending
  } catch (error) {
    if (ctx.signal.aborted || !draft) throw error
    return sendDraft(ctx, draft, { audits, auditGpuSeconds, notes: [...notes, `escalation to ${larger.selection.model} failed (${messageOf(error)}); answered with the draft`] })
  }
  if (key && entry) storeEntry(deps, key, entry, request, target)
  const end = await Promise.race([ended, Promise.resolve(undefined)])
  const extras: AnswerExtras = { prior, audits, auditGpuSeconds, escalation, notes }
  // The answer's own headers were made before the verdict: these say what happened.
  const served = { model: end?.model ?? larger.selection.model, backend: end?.backend ?? larger.selection.backend }
  const headers = { ...forwarded.headers, ...answerHeaders(ctx, served, [], extras) }
  if (forwarded.text !== undefined) {
    if (end) finishAnswer(ctx, end, extras)
    ctx.answer = { headers, text: forwarded.text }
    return new Response(forwarded.text, { status: 200, headers })
  }
  void ended.then((e) => finishAnswer(ctx, e, extras))
  const reader = await ahead
  ctx.answer = { headers }
  const body = feedTap(reader!.stream(), ctx.flightTap)
  ctx.bodyEnd.add((failure) => {
    // The client left during the larger answer: it is cancelled like any relayed stream.
    if (failure === CANCELLED) stop.abort(new Error('client disconnected'))
  })
  return new Response(body, { status: 200, headers })
}
