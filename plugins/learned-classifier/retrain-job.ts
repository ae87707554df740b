/** One retrain as a job of plain data (the labelled decisions, the serving version, the spec) and its result: what the retrain worker runs, or the gateway's thread where no worker starts. */
import type { LabelledDecision, RetrainResult } from 'switchyard/plugin'
import { loadBaseData } from './base-data.ts'
import type { BaseData } from './base-data.ts'
import type { Logits } from './calibration.ts'
import { createFeaturizer } from './featurize.ts'
import type { FeatureSpec } from './featurize.ts'
import { createCorrectionMemory } from './memory.ts'
import type { MemoryFamily } from './memory.ts'
import type { Model } from './model.ts'
import type { Served } from './predictor.ts'
import { retrainCandidate } from './retrain.ts'

/** What the plugin hands a retrain: everything it needs, nothing it must not keep. */
export interface RetrainTask {
  readonly labelled: readonly LabelledDecision[]
  readonly current: Served
  /** The plugin's featurizer spec (the shipped weights'): shipped rows and prompt-only decisions are featurized with it. */
  readonly spec: FeatureSpec
  readonly trainingData: readonly string[]
  readonly excludeNonCommercial: boolean
  readonly bias: { readonly min: number; readonly max: number }
  readonly optionBias: Logits
  /** The candidate's name when promoted (`v3`). */
  readonly version: string
}

/** The verdict and its figures; `candidate` (the promoted version, to store and swap in) only when promoted. */
export interface RetrainTaskResult {
  readonly promoted: boolean
  readonly reason: string
  readonly before: RetrainResult['before']
  readonly after: RetrainResult['after']
  /** A candidate was trained (false when there were too few corrections to try). */
  readonly trained: boolean
  readonly candidate?: Served
}

/**
 * The featurized shipped rows, one set at a time (a new spec or file list replaces the old set). A failed or aborted
 * load is not kept: the next retrain starts it again.
 */
export interface BaseCache { key?: string; data?: Promise<BaseData> }

function baseDataFor(cache: BaseCache, task: RetrainTask, signal: AbortSignal): Promise<BaseData> {
  const key = `${task.trainingData.join(',')}:${JSON.stringify(task.spec)}:${task.excludeNonCommercial}`
  if (cache.key !== key || cache.data === undefined) {
    const data = loadBaseData(task.trainingData, task.spec, task.excludeNonCommercial, signal)
    Object.assign(cache, { key, data })
    data.catch(() => {
      if (cache.data === data) cache.data = undefined
    })
  }
  return cache.data!
}

/** Train and judge a candidate; throws only when aborted or broken. Stores nothing: the caller writes and swaps. */
export async function runRetrainTask(task: RetrainTask, cache: BaseCache, signal: AbortSignal): Promise<RetrainTaskResult> {
  const base = await baseDataFor(cache, task, signal)
  signal.throwIfAborted()
  const outcome = await retrainCandidate({
    labelled: task.labelled, base, current: task.current, bias: task.bias, version: task.version, optionBias: task.optionBias,
    signal, featurize: createFeaturizer(task.spec),
  })
  const promoted = outcome.promoted && outcome.candidate !== undefined
  return {
    promoted, reason: outcome.reason, before: outcome.before, after: outcome.after, trained: outcome.candidate !== undefined,
    ...(promoted ? { candidate: outcome.candidate } : {}),
  }
}

/** A served version as structured-cloneable data: typed arrays, plain objects, the memory's families (not its index). */
export interface ServedData {
  readonly version: string
  readonly base: string
  readonly model: Model
  readonly temperature: number
  readonly classBias: Logits
  readonly memory?: { readonly families: readonly MemoryFamily[]; readonly answerCosine: number; readonly answerMargin: number }
  readonly trainedOn: readonly string[]
}

export function toServedData(s: Served): ServedData {
  const memory = s.memory && { families: s.memory.families, answerCosine: s.memory.answerCosine, answerMargin: s.memory.answerMargin }
  return { version: s.version, base: s.base, model: s.model, temperature: s.temperature, classBias: s.classBias, memory, trainedOn: [...s.trainedOn] }
}

export function fromServedData(d: ServedData): Served {
  const memory = d.memory && createCorrectionMemory(d.memory.families, d.memory.answerCosine, d.memory.answerMargin)
  return { version: d.version, base: d.base, model: d.model, temperature: d.temperature, classBias: d.classBias, memory, trainedOn: new Set(d.trainedOn) }
}

/** The buffers under a version's arrays, each once (the model's weights, dense and bias share one): moved, not copied. */
export function buffersOf(d: ServedData): ArrayBuffer[] {
  const arrays = [d.model.weights, d.model.dense, d.model.bias, ...(d.memory?.families.flatMap((f) => [f.index, f.value]) ?? [])]
  return [...new Set(arrays.map((a) => a.buffer as ArrayBuffer))]
}
