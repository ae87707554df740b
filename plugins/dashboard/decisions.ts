/** Turns the last PipelineEvent of each request (it carries the whole decision) into one routing decision, kept in a bounded ring. */
import { type EscalationRecord, type PipelineEvent, isFinalEvent } from 'switchyard/plugin'

/** One routing decision as the dashboard shows it: plain JSON, no prompt text. */
export interface Decision {
  readonly id: string
  readonly timeMs: number
  /** The client key's name, null without auth. */
  readonly client: string | null
  /** The client key's team, null when the key is in none. */
  readonly team: string | null
  readonly protocol: string | null
  readonly operation: string | null
  readonly requested: string | null
  readonly route: string | null
  readonly class: string | null
  readonly confidence: number | null
  readonly classifier: string | null
  readonly model: string | null
  readonly backend: string | null
  readonly cache: string | null
  readonly status: number | null
  readonly error: string | null
  readonly ttftMs: number | null
  readonly durationMs: number | null
  readonly inputTokens: number | null
  readonly outputTokens: number | null
  readonly fallbackCount: number
  readonly reasons: readonly string[]
  /** The request's last audit (a route's `escalate`), null when its draft was not audited. */
  readonly audit: DecisionAudit | null
  /** The draft replaced by a larger model's answer, null when none was. */
  readonly escalation: EscalationRecord | null
  /** GPU seconds of every generation the request ran (the answer, rejected drafts, cancelled parallel ones). */
  readonly gpuSeconds: number | null
  /** Net GPU seconds routing saved against the route's largest model; null when unknown or not routed. */
  readonly gpuSecondsSaved: number | null
}

export interface DecisionAudit {
  readonly auditor: string
  readonly score: number
  readonly outcome: 'pass' | 'fail' | 'skipped'
  readonly threshold: number
  readonly reasons: readonly string[]
}

/** An error answer: the request failed, or answered with a 4xx/5xx status. */
export const isFailed = (d: Decision): boolean => d.error !== null || (d.status !== null && d.status >= 400)

export interface DecisionLog {
  /** Feed one event; returns the decision when this event finished a request. */
  observe(event: PipelineEvent): Decision | undefined
  /** Newest first. */
  recent(): Decision[]
}

const round = (ms: number) => Math.round(ms * 10) / 10
const roundSeconds = (s: number) => Math.round(s * 1e6) / 1e6

export function createDecisionLog(maxDecisions: number): DecisionLog {
  const ring: Decision[] = []
  let next = 0

  const push = (d: Decision) => {
    if (ring.length < maxDecisions) ring.push(d)
    else ring[next] = d
    next = (next + 1) % maxDecisions
    return d
  }

  /** A request's last event carries its whole decision: no state is kept between a request's events. */
  const finish = (event: PipelineEvent, status: number | undefined): Decision => {
    const c = event.classification
    const reasons = [...(c?.reasons ?? []), ...(event.selection?.reasons ?? [])]
    const fallbackCount = event.fallbackCount ?? 0
    const model = event.model ?? event.selection?.model ?? event.request?.model ?? null
    if (fallbackCount > 0) reasons.push(`${fallbackCount} fallback${fallbackCount === 1 ? '' : 's'} before ${model ?? 'an answer'}`)
    if (event.error) reasons.push(event.error)
    const durationMs = event.durationMs ?? 0
    const last = event.audits?.at(-1)
    return push({
      id: event.requestId,
      timeMs: event.timeMs - durationMs,
      client: event.client ?? null,
      team: event.team ?? null,
      protocol: event.request?.protocol ?? null,
      operation: event.request?.operation ?? null,
      requested: event.request?.model ?? null,
      route: event.route ?? null,
      class: c?.label ?? null,
      confidence: c?.confidence ?? null,
      classifier: c?.classifier ?? null,
      model,
      backend: event.backend ?? event.selection?.backend ?? null,
      cache: event.cache ?? null,
      status: status ?? null,
      error: event.error ?? null,
      ttftMs: event.ttftMs === undefined ? null : round(event.ttftMs),
      durationMs: round(durationMs),
      inputTokens: event.inputTokens ?? null,
      outputTokens: event.outputTokens ?? null,
      fallbackCount,
      reasons,
      audit: last ? { auditor: last.auditor, score: last.score, outcome: last.outcome, threshold: last.threshold, reasons: last.reasons } : null,
      escalation: event.escalation ?? null,
      gpuSeconds: event.gpu ? roundSeconds(event.gpu.reduce((sum, u) => sum + u.seconds, 0)) : null,
      gpuSecondsSaved: event.gpuSecondsSaved === undefined ? null : roundSeconds(event.gpuSecondsSaved),
    })
  }

  return {
    observe(event) {
      // A cache hit is a 200 answered from the cache.
      return isFinalEvent(event) ? finish(event, event.status ?? 200) : undefined
    },
    recent() {
      const ordered = ring.length < maxDecisions ? ring.slice() : [...ring.slice(next), ...ring.slice(0, next)]
      return ordered.reverse()
    },
  }
}
