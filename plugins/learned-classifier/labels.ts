/** Turning labelled decisions into weighted training corrections: one per prompt, explicit sources first. */
import { EXPLICIT_LABEL_SOURCES, LABEL_SOURCES } from 'switchyard/plugin'
import type { ChatRequest, LabelledDecision, LabelSource, TaskClass } from 'switchyard/plugin'
import type { Vector } from './featurize.ts'
import { toVector } from './similarity.ts'

/**
 * Training weight of a correction, relative to a dataset row (1). A label a client stated (feedback, a verdict, a
 * forced class) outweighs one inferred from behaviour (a retry with a stronger model, an auditor's escalation), which
 * is often right about the direction and wrong about the size. Measured in docs/classifiers.md ("label weights").
 */
export const LABEL_WEIGHTS: Readonly<Record<LabelSource, number>> = {
  feedback: 4, verdict: 4, forced: 4, retry: 1, escalation: 1,
}

export const isExplicit = (source: LabelSource) => EXPLICIT_LABEL_SOURCES.includes(source)

export interface LabelledExample {
  /** The prompt hash: corrections of the same prompt collapse into one. */
  readonly key: string
  readonly fv: Vector
  readonly label: TaskClass
  readonly weight: number
  readonly source: LabelSource
}

export interface CollectedLabels {
  readonly examples: readonly LabelledExample[]
  /** Labelled decisions per source, before de-duplication. */
  readonly bySource: Readonly<Record<LabelSource, number>>
  /** Decisions left out: no usable features (and no prompt to featurize), or features of another spec. */
  readonly unusable: number
  /** Decisions folded into a later or stronger label for the same prompt. */
  readonly superseded: number
  /** Corrections beyond the newest `max`, left out. */
  readonly overLimit: number
}

/**
 * One correction per prompt hash: an explicit label beats an implicit one, then the later label wins; the newest `max`
 * are kept (oldest first). Features come
 * from the decision as recorded; a decision without usable ones is featurized from its prompt when the history kept it.
 */
export function collectLabels(
  labelled: readonly LabelledDecision[], bits: number, featurize?: (req: Pick<ChatRequest, 'messages'>) => Vector,
  weights: Readonly<Record<LabelSource, number>> = LABEL_WEIGHTS, max = Number.POSITIVE_INFINITY,
): CollectedLabels {
  const bySource = Object.fromEntries(LABEL_SOURCES.map((s) => [s, 0])) as Record<LabelSource, number>
  const best = new Map<string, LabelledDecision>()
  for (const d of labelled) {
    bySource[d.source]++
    const seen = best.get(d.promptHash)
    const rank = (x: LabelledDecision) => (isExplicit(x.source) ? 1 : 0)
    if (!seen || rank(d) > rank(seen) || (rank(d) === rank(seen) && d.labelledAtMs >= seen.labelledAtMs)) best.set(d.promptHash, d)
  }
  let unusable = 0
  const examples: LabelledExample[] = []
  const newest = [...best].sort((a, b) => b[1].labelledAtMs - a[1].labelledAtMs)
  const overLimit = Math.max(0, newest.length - max)
  for (const [key, d] of newest.slice(0, max).reverse()) {
    const recorded = d.features ? toVector(d.features, bits) : undefined
    const fv = recorded ?? (d.prompt !== undefined && featurize ? featurize({ messages: [{ role: 'user', content: d.prompt }] }) : undefined)
    if (!fv || fv.index.length === 0) {
      unusable++
      continue
    }
    examples.push({ key, fv, label: d.correct, weight: weights[d.source], source: d.source })
  }
  return { examples, bySource, unusable, superseded: labelled.length - best.size, overLimit }
}
