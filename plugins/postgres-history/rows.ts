/** A decision as a row of the Postgres decisions table, and back; the feature vector uses sqlite-history's blob codec. */
import { EXPLICIT_LABEL_SOURCES } from 'switchyard/plugin'
import type { DecisionRecord, LabelSource, TaskClass } from 'switchyard/plugin'
import { decodeFeatures, encodeFeatures } from '../sqlite-history/features.ts'

export const COLUMNS = [
  'id', 'time_ms', 'client', 'team', 'protocol', 'operation', 'requested', 'route', 'label', 'confidence', 'classifier',
  'classifier_version', 'forced', 'model', 'backend', 'status', 'cache', 'latency_ms', 'ttft_ms', 'input_tokens',
  'output_tokens', 'escalation', 'error', 'prompt_hash', 'features', 'prompt',
] as const

type Value = string | number | boolean | Uint8Array | null
export type Row = Record<(typeof COLUMNS)[number], Value>
/** A decisions row joined with its label, when it has one. */
export type LabelledRow = Row & { l_label: string | null; l_source: string | null; l_time?: string | number | null }

export const EXPLICIT_SOURCES: readonly string[] = EXPLICIT_LABEL_SOURCES
export const isExplicit = (source: string): boolean => EXPLICIT_SOURCES.includes(source)

/** Postgres text cannot hold NUL; one in a prompt or an upstream's error text would fail the whole batch. */
const text = (s: string | undefined): string | null => (s === undefined ? null : s.includes('\u0000') ? s.replaceAll('\u0000', '') : s)
const integer = (n: number | undefined): number | null => (n === undefined || !Number.isFinite(n) ? null : Math.round(n))
const real = (n: number | undefined): number | null => (n === undefined || !Number.isFinite(n) ? null : n)

export function toRow(d: DecisionRecord, storePrompts: boolean): Row {
  return {
    id: text(d.id), time_ms: Math.round(d.timeMs), client: text(d.client), team: text(d.team), protocol: d.protocol,
    operation: d.operation, requested: text(d.requested), route: text(d.route), label: d.label ?? null,
    confidence: real(d.confidence), classifier: text(d.classifier), classifier_version: text(d.classifierVersion),
    forced: d.forced === true, model: text(d.model), backend: text(d.backend), status: Math.round(d.status),
    cache: d.cache ?? null, latency_ms: real(d.latencyMs) ?? 0, ttft_ms: real(d.ttftMs), input_tokens: integer(d.inputTokens),
    output_tokens: integer(d.outputTokens), escalation: text(d.escalation), error: text(d.error), prompt_hash: text(d.promptHash),
    features: d.features ? encodeFeatures(d.features) : null,
    prompt: storePrompts ? text(d.prompt) : null,
  }
}

const opt = <T>(x: unknown): T | undefined => (x === null || x === undefined ? undefined : (x as T))
/** BIGINT comes back as a string (it may not fit a double); ours are milliseconds, which do. */
const num = (x: unknown): number | undefined => (x === null || x === undefined ? undefined : Number(x))

export function fromRow(r: Row): DecisionRecord {
  const out: Record<string, unknown> = {
    id: r.id, timeMs: num(r.time_ms), client: opt(r.client), team: opt(r.team), protocol: r.protocol, operation: r.operation,
    requested: r.requested, route: opt(r.route), label: opt(r.label), confidence: opt(r.confidence), classifier: opt(r.classifier),
    classifierVersion: opt(r.classifier_version), forced: r.forced === true ? true : undefined, model: opt(r.model),
    backend: opt(r.backend), status: r.status, cache: opt(r.cache), latencyMs: r.latency_ms, ttftMs: opt(r.ttft_ms),
    inputTokens: opt(r.input_tokens), outputTokens: opt(r.output_tokens), escalation: opt(r.escalation), error: opt(r.error),
    promptHash: r.prompt_hash,
    // A copy: the client hands back a view into a shared buffer, and the codec reads the whole buffer.
    features: r.features ? decodeFeatures(new Uint8Array(r.features as Uint8Array)) : undefined,
    prompt: opt(r.prompt),
  }
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k]
  return out as unknown as DecisionRecord
}

/** A decision with its label, the shape sqlite-history gives `get` and `list` (the history endpoint shows it). */
export function withFeedback(r: LabelledRow): DecisionRecord & { feedback: { label: TaskClass; source: LabelSource } | null } {
  return { ...fromRow(r), feedback: r.l_label && r.l_source ? { label: r.l_label as TaskClass, source: r.l_source as LabelSource } : null }
}
