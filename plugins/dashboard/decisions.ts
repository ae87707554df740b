/** Turns the PipelineEvents of each request into one finished routing decision, kept in a bounded ring. */
import type { PipelineEvent } from 'switchyard/plugin'

/** One routing decision as the dashboard shows it: plain JSON, no prompt text. */
export interface Decision {
  readonly id: string
  readonly timeMs: number
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
}

interface Pending {
  startMs: number
  protocol?: string
  operation?: string
  requested?: string
  route?: string
  classification?: PipelineEvent['classification']
  selectionReasons?: readonly string[]
  model?: string
  backend?: string
  cache?: string
}

export interface DecisionLog {
  /** Feed one event; returns the decision when this event finished a request. */
  observe(event: PipelineEvent): Decision | undefined
  /** Newest first. */
  recent(): Decision[]
}

const round = (ms: number) => Math.round(ms * 10) / 10

/** Requests that never finish (a 503 before forwarding) must not pile up. */
const MAX_PENDING = 1_000

export function createDecisionLog(maxDecisions: number): DecisionLog {
  const pending = new Map<string, Pending>()
  const ring: Decision[] = []
  let next = 0

  const push = (d: Decision) => {
    if (ring.length < maxDecisions) ring.push(d)
    else ring[next] = d
    next = (next + 1) % maxDecisions
    return d
  }

  const pendingFor = (event: PipelineEvent): Pending => {
    let p = pending.get(event.requestId)
    if (!p) {
      p = { startMs: event.timeMs }
      pending.set(event.requestId, p)
      if (pending.size > MAX_PENDING) pending.delete(pending.keys().next().value as string)
    }
    return p
  }

  const finish = (event: PipelineEvent, p: Pending): Decision => {
    pending.delete(event.requestId)
    const c = event.classification ?? p.classification
    const reasons = [...(c?.reasons ?? []), ...(p.selectionReasons ?? [])]
    const fallbackCount = event.fallbackCount ?? 0
    if (fallbackCount > 0) reasons.push(`${fallbackCount} fallback${fallbackCount === 1 ? '' : 's'} before ${event.model ?? p.model ?? 'an answer'}`)
    if (event.error) reasons.push(event.error)
    return push({
      id: event.requestId,
      timeMs: p.startMs,
      protocol: p.protocol ?? null,
      operation: p.operation ?? null,
      requested: p.requested ?? null,
      route: event.route ?? p.route ?? null,
      class: c?.label ?? null,
      confidence: c?.confidence ?? null,
      classifier: c?.classifier ?? null,
      model: event.model ?? p.model ?? p.requested ?? null,
      backend: event.backend ?? p.backend ?? null,
      cache: event.cache ?? p.cache ?? null,
      status: event.status ?? null,
      error: event.error ?? null,
      ttftMs: event.ttftMs === undefined ? null : round(event.ttftMs),
      durationMs: round(event.durationMs ?? Math.max(0, event.timeMs - p.startMs)),
      inputTokens: event.inputTokens ?? null,
      outputTokens: event.outputTokens ?? null,
      fallbackCount,
      reasons,
    })
  }

  return {
    observe(event) {
      const p = pendingFor(event)
      switch (event.stage) {
        case 'request':
          p.protocol = event.request?.protocol
          p.operation = event.request?.operation
          p.requested = event.request?.model
          return undefined
        case 'cache':
          p.cache = event.cache
          // A hit is answered from the cache: no select or response event follows.
          return event.cache === 'hit' || event.cache === 'semantic-hit' ? finish({ ...event, status: 200 }, p) : undefined
        case 'classify':
          p.route = event.route
          p.classification = event.classification
          return undefined
        case 'select':
          p.model = event.model ?? event.selection?.model
          p.backend = event.backend ?? event.selection?.backend
          p.selectionReasons = event.selection?.reasons
          return undefined
        case 'response':
          return finish(event, p)
        default:
          return undefined
      }
    },
    recent() {
      const ordered = ring.length < maxDecisions ? ring.slice() : [...ring.slice(next), ...ring.slice(0, next)]
      return ordered.reverse()
    },
  }
}
