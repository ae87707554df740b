/** Routing-decision attributes (route, class, backend, cache) and the `cache.lookup` / `router.*` span wrappers. */
import { type Attributes, type Context, ROOT_CONTEXT, type Span } from '@opentelemetry/api'
import type { AuditRecord, CacheStatus, Classification, Selection } from '../plugin/types.ts'
import {
  ATTR_SWITCHYARD_AUDIT_DECISION,
  ATTR_SWITCHYARD_AUDIT_REASONS,
  ATTR_SWITCHYARD_AUDIT_SCORE,
  ATTR_SWITCHYARD_AUDITOR,
  ATTR_SWITCHYARD_BACKEND,
  ATTR_SWITCHYARD_CACHE,
  ATTR_SWITCHYARD_CANDIDATES,
  ATTR_SWITCHYARD_CLASS,
  ATTR_SWITCHYARD_CLASSIFIER,
  ATTR_SWITCHYARD_CLASSIFIER_VERSION,
  ATTR_SWITCHYARD_CONFIDENCE,
  ATTR_SWITCHYARD_MODEL,
  ATTR_SWITCHYARD_REASONS,
  ATTR_SWITCHYARD_ROUTE,
} from './attributes.ts'
import { getTracer, inSpan } from './spans.ts'

function classificationAttributes(route: string, c: Classification): Attributes {
  return {
    [ATTR_SWITCHYARD_ROUTE]: route,
    [ATTR_SWITCHYARD_CLASS]: c.label,
    [ATTR_SWITCHYARD_CONFIDENCE]: c.confidence,
    [ATTR_SWITCHYARD_CLASSIFIER]: c.classifier ?? 'classifier',
    [ATTR_SWITCHYARD_REASONS]: [...c.reasons],
    ...(c.version ? { [ATTR_SWITCHYARD_CLASSIFIER_VERSION]: c.version } : {}),
  }
}

function selectionAttributes(selection: Selection, candidates: readonly string[]): Attributes {
  return {
    [ATTR_SWITCHYARD_BACKEND]: selection.backend,
    [ATTR_SWITCHYARD_MODEL]: selection.model,
    [ATTR_SWITCHYARD_CANDIDATES]: [...candidates],
  }
}

/**
 * The selection on the SERVER span (the classification landed there already): backend, model, candidates, and
 * the whole decision's reasons, classification's first, then the selector's.
 */
function serverSelectionAttributes(c: Classification | undefined, selection: Selection, candidates: readonly string[]): Attributes {
  const out = selectionAttributes(selection, candidates)
  const reasons = [...(c?.reasons ?? []), ...selection.reasons]
  if (reasons.length) out[ATTR_SWITCHYARD_REASONS] = reasons
  return out
}

/**
 * The `cache.lookup` span around a cache plugin lookup; `outcome` reads the result as hit/miss. An in-process
 * cache answers synchronously, and so does this then.
 */
export function traceCacheLookup<T>(parent: TraceParent, work: () => T | Promise<T>, outcome: (result: T) => CacheStatus): T | Promise<T> {
  if (!parent.span?.isRecording()) return work()
  return inSpan(getTracer(), 'cache.lookup', parent.traceContext ?? ROOT_CONTEXT, undefined, work, (span, result) => {
    span.setAttribute(ATTR_SWITCHYARD_CACHE, outcome(result))
  })
}

/** Where a stage span hangs: the request's SERVER span and its context (the RequestContext). */
export interface TraceParent {
  readonly traceContext?: Context
  readonly span?: Span
}

/** `router.classify` around the classifiers; the decision also lands on the SERVER span. */
export function traceClassify(parent: TraceParent, route: string, work: () => Promise<Classification>): Promise<Classification> {
  if (!parent.span?.isRecording()) return work()
  return inSpan(getTracer(), 'router.classify', parent.traceContext ?? ROOT_CONTEXT, { [ATTR_SWITCHYARD_ROUTE]: route }, work, (span, c) => {
    const attributes = classificationAttributes(route, c)
    span.setAttributes(attributes)
    parent.span?.setAttributes(attributes)
  }) as Promise<Classification>
}

/** `router.select` around the selectors; backend, model and candidates also land on the SERVER span. */
export function traceSelect(parent: TraceParent, candidates: readonly string[], classification: Classification | undefined, work: () => Promise<Selection>): Promise<Selection> {
  if (!parent.span?.isRecording()) return work()
  return inSpan(getTracer(), 'router.select', parent.traceContext ?? ROOT_CONTEXT, { [ATTR_SWITCHYARD_CANDIDATES]: [...candidates] }, work, (span, selection) => {
    // Candidates went on at the start: each attribute set costs the SDK a validation and a copy.
    span.setAttributes({ [ATTR_SWITCHYARD_BACKEND]: selection.backend, [ATTR_SWITCHYARD_MODEL]: selection.model, [ATTR_SWITCHYARD_REASONS]: [...selection.reasons] })
    parent.span?.setAttributes(serverSelectionAttributes(classification, selection, candidates))
  }) as Promise<Selection>
}

/** `router.audit` around an auditor's verdict on a draft: score, reasons and decision (pass, fail or skipped). */
export function traceAudit(parent: TraceParent, auditor: string, model: string, work: () => Promise<AuditRecord>): Promise<AuditRecord> {
  if (!parent.span?.isRecording()) return work()
  return inSpan(getTracer(), 'router.audit', parent.traceContext ?? ROOT_CONTEXT, { [ATTR_SWITCHYARD_AUDITOR]: auditor, [ATTR_SWITCHYARD_MODEL]: model }, work, (span, audit) => {
    span.setAttributes({ [ATTR_SWITCHYARD_AUDIT_SCORE]: audit.score, [ATTR_SWITCHYARD_AUDIT_REASONS]: [...audit.reasons], [ATTR_SWITCHYARD_AUDIT_DECISION]: audit.outcome })
  }) as Promise<AuditRecord>
}
