/** The shipped training rows a retrain starts from: read and featurized once, split into grouped folds, baseline cached. */
import { readRows, isNonCommercial, rowRequest, rowText } from './dataset.ts'
import type { LabelledRow } from './dataset.ts'
import type { Logits } from './calibration.ts'
import { groupedFolds, nearDuplicateGroupsAsync } from './cross-validate.ts'
import { createFeaturizer } from './featurize.ts'
import type { FeatureSpec } from './featurize.ts'
import { modelLogits } from './model.ts'
import { trainModelAsync } from './train.ts'
import type { TrainExample, TrainOptions } from './train.ts'
import { createYielder } from './yielder.ts'
import routingDev from '../../data/routing-dev.jsonl' with { type: 'file' }
import supplement from './supplement.jsonl' with { type: 'file' }
import multiturn from './multiturn.jsonl' with { type: 'file' }

/** The files the shipped weights are trained from, in the repository (`file` imports: embedded in the standalone binary). */
export const SHIPPED_TRAINING_DATA: readonly string[] = [routingDev, supplement, multiturn]
export const BASE_FOLDS = 5

export interface BaseData {
  readonly examples: readonly TrainExample[]
  /** Grouped, stratified folds (near-duplicate prompts share one), as the published cross-validation makes them. */
  readonly fold: readonly number[]
  readonly sources: readonly string[]
  /** Held-out logits of the shipped recipe without corrections (filled by `baselineLogits`, once). */
  baseline?: Promise<Logits[]>
}

/** Featurize rows and split them into folds, giving the event loop a turn every few milliseconds. */
export async function createBaseData(rows: readonly LabelledRow[], spec: FeatureSpec, signal?: AbortSignal): Promise<BaseData> {
  const tick = createYielder(signal)
  const featurize = createFeaturizer(spec)
  // One object shape for every training example (shipped row or correction) keeps the training loop monomorphic.
  const examples: TrainExample[] = []
  for (const r of rows) {
    const { index, value, dense } = featurize(rowRequest(r))
    examples.push({ fv: { index, value, dense }, label: r.label, weight: 1 })
    await tick()
  }
  const groups = await nearDuplicateGroupsAsync(rows.map(rowText), tick)
  const fold = groupedFolds(groups, rows.map((r) => `${r.source}|${r.label}`), BASE_FOLDS, 1)
  return { examples, fold, sources: rows.map((r) => r.source) }
}

/** Read the training files (leaving out non-commercial rows when the weights were trained without them). */
export async function loadBaseData(paths: readonly string[], spec: FeatureSpec, excludeNonCommercial: boolean, signal?: AbortSignal): Promise<BaseData> {
  const tick = createYielder(signal)
  const rows: LabelledRow[] = []
  for (const path of paths) rows.push(...(await readRows(path, tick)).filter((r) => !excludeNonCommercial || !isNonCommercial(r)))
  if (rows.length === 0) throw new Error(`no training rows in ${paths.join(', ')}`)
  return createBaseData(rows, spec, signal)
}

/** Each shipped row's logits from a model trained (with `train`) on the other folds, computed once per base. */
export function baselineLogits(base: BaseData, train: Partial<TrainOptions>, signal?: AbortSignal): Promise<Logits[]> {
  base.baseline ??= (async () => {
    const out: Logits[] = base.examples.map(() => [0, 0, 0])
    for (let f = 0; f < BASE_FOLDS; f++) {
      const model = await trainModelAsync(base.examples.filter((_, r) => base.fold[r] !== f), train, signal)
      base.examples.forEach((ex, r) => {
        if (base.fold[r] === f) out[r] = modelLogits(model, ex.fv)
      })
    }
    return out
  })()
  // A failed (aborted) computation is not cached: the next retrain starts it again.
  base.baseline.catch(() => { base.baseline = undefined })
  return base.baseline
}
