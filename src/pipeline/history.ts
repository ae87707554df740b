/** Records each request's decision in the history plugins, and the corrections inferred from what clients do next. */
import type { RouteConfig } from '../config/schema.ts'
import { messageOf } from '../errors.ts'
import { requestText } from '../plugin/text.ts'
import { type ChatRequest, type DecisionRecord, type PipelineEvent, TASK_CLASSES, type TaskClass, classAbove, classRank } from '../plugin/types.ts'
import { type BoundedMap, createBoundedMap } from './bounded-map.ts'
import type { GatewayDeps } from './deps.ts'
import { noteCorrection } from './learning.ts'
import { routeFor } from './route.ts'

/** A routed decision a retry may correct: kept in memory for the retry window (the history has the rest). */
interface RoutedDecision {
  readonly id: string
  readonly label: TaskClass
  readonly route: string
  readonly timeMs: number
}

/** Recent routed decisions by client and prompt; shared by every config generation of one gateway. */
export type RecentDecisions = BoundedMap<string, RoutedDecision>

export const createRecentDecisions = (): RecentDecisions => createBoundedMap(10_000)

/**
 * The same conversation hashes the same (the key implicit feedback and de-duplication use). Chained per message, so
 * no joined copy of a long conversation is built (that copy, kept until the batch is written, cost more than the rest).
 */
export function promptHashOf(messages: ChatRequest['messages']): string {
  let h = 0n
  for (const m of messages) h = Bun.hash.wyhash(m.content, h)
  return h.toString(36)
}

/** The highest class of `route` whose candidates include `model`, if any. */
function classOfModel(route: RouteConfig, model: string): TaskClass | undefined {
  for (let i = TASK_CLASSES.length - 1; i >= 0; i--) if (route[TASK_CLASSES[i]!].includes(model)) return TASK_CLASSES[i]
  return undefined
}

/** Builds the history row of a request from its last event; the prompt text only when a store keeps prompts. */
export function decisionOf(event: PipelineEvent, withPrompt: boolean): DecisionRecord {
  const request = event.request!
  const c = event.classification
  return {
    id: event.requestId, timeMs: event.timeMs, client: event.client, team: event.team, protocol: request.protocol, operation: request.operation,
    requested: request.model, route: event.route, label: c?.label, confidence: c?.confidence, classifier: c?.classifier,
    classifierVersion: c?.version, forced: c?.forced, model: event.model ?? event.selection?.model,
    backend: event.backend ?? event.selection?.backend, status: event.status ?? 200, cache: event.cache,
    latencyMs: event.durationMs ?? 0, ttftMs: event.ttftMs, inputTokens: event.inputTokens, outputTokens: event.outputTokens,
    escalation: event.escalation ? `${event.escalation.from} -> ${event.escalation.to}` : undefined,
    error: event.error, promptHash: promptHashOf(request.messages), features: c?.features,
    ...(withPrompt ? { prompt: requestText(request) } : {}),
  }
}

/**
 * A retry of the same prompt by the same client, within the window, that asks for more (a named model of a higher
 * tier in the earlier decision's route, or a forced higher class) says the earlier decision was too weak.
 */
function retryCorrection(deps: GatewayDeps, decision: DecisionRecord): { id: string; label: TaskClass } | undefined {
  const previous = deps.learning.recent.get(`${decision.client ?? ''}\u0000${decision.promptHash}`)
  if (!previous || previous.id === decision.id || decision.timeMs - previous.timeMs > deps.config.feedback.retryWindowMs) return undefined
  let asked: TaskClass | undefined
  if (decision.forced && decision.label) asked = decision.label
  else if (!decision.route) {
    const route = routeFor(deps, previous.route)
    asked = route ? classOfModel(route, decision.requested) : undefined
  }
  if (!asked || classRank(asked) <= classRank(previous.label)) return undefined
  return { id: previous.id, label: classAbove(previous.label) }
}

/** Hands the decision of a finished request to every history plugin; never throws, never waits. */
export function recordDecision(deps: GatewayDeps, event: PipelineEvent): void {
  const stores = deps.plugins.of('history')
  if (stores.length === 0 || !event.request) return
  const decision = decisionOf(event, stores.some((s) => s.instance.storesPrompts))
  const correction = deps.config.feedback.implicit ? retryCorrection(deps, decision) : undefined
  if (decision.forced) noteCorrection(deps)
  if (decision.route && decision.label && decision.status < 400) {
    deps.learning.recent.set(`${decision.client ?? ''}\u0000${decision.promptHash}`, { id: decision.id, label: decision.label, route: decision.route, timeMs: decision.timeMs })
  }
  // An escalated answer says its class was too weak: labelled with the class that answered (after the write).
  const escalated = deps.config.feedback.implicit && event.escalation && decision.label && decision.status < 400 ? event.escalation.label : undefined
  for (const store of stores) {
    try {
      store.instance.record(decision)
      if (escalated) {
        setImmediate(() => void Promise.resolve(store.instance.label(decision.id, escalated, 'escalation')).then(
          (found) => found && noteCorrection(deps),
          (error) => deps.log.warn('history label failed', { plugin: store.name, error: messageOf(error) }),
        ))
      }
      if (correction) void Promise.resolve(store.instance.label(correction.id, correction.label, 'retry')).then(
        (found) => found && noteCorrection(deps),
        (error) => deps.log.warn('history label failed', { plugin: store.name, error: messageOf(error) }),
      )
    } catch (error) {
      deps.log.warn('history record failed', { plugin: store.name, error: messageOf(error) })
    }
  }
}
