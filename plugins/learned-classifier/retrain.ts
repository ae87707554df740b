/** Retraining on corrections: train a candidate, judge it by grouped CV on the corrections and a guard on the shipped rows. */
import type { ChatRequest, LabelledDecision, LabelSource } from 'switchyard/plugin'
import { baselineLogits, BASE_FOLDS } from './base-data.ts'
import type { BaseData } from './base-data.ts'
import { calibratedProbabilities, fitClassBias, fitTemperature } from './calibration.ts'
import type { Logits } from './calibration.ts'
import { groupedFolds } from './cross-validate.ts'
import type { Vector } from './featurize.ts'
import { collectLabels } from './labels.ts'
import type { CollectedLabels, LabelledExample } from './labels.ts'
import { buildFamilies, createCorrectionMemory } from './memory.ts'
import type { MemoryHit } from './memory.ts'
import { accuracy, macroF1 } from './metrics.ts'
import { modelLogits } from './model.ts'
import { decide, predict } from './predictor.ts'
import type { Served } from './predictor.ts'
import { reportVersion, signTest } from './retrain-report.ts'
import { cosineGroups, createDotScratch } from './similarity.ts'
import { trainModelAsync } from './train.ts'
import { createYielder } from './yielder.ts'
import type { TrainOptions } from './train.ts'

/**
 * The rules a candidate is judged by (docs/classifiers.md, "Learning from corrections"):
 * - `neighbourCosine`: a shipped row whose cosine to any correction reaches this is in the corrected neighbourhood.
 *   The candidate does not train on it (the users' label replaces the dataset's there) and the F1 guard does not
 *   score it (it is expected to change). Same-source prompts are mostly above 0.5, other sources' mostly below 0.35.
 * - `groupCosine`: corrections this similar (near-duplicates) stay in one cross-validation fold.
 * - promotion: on the corrections the current version was not trained on, the candidate (by grouped CV) must be right
 *   where the current one is wrong more often than the reverse, by a one-sided sign test at `z` (b - c >= z sqrt(b + c)),
 *   and its held-out macro-F1 on the kept shipped rows may be at most `maxF1Drop` below the shipped recipe's.
 * - `maxCorrections`: only the latest this many corrections are used (time and memory grow with their number).
 */
export const RETRAIN_DEFAULTS = {
  neighbourCosine: 0.5, groupCosine: 0.8, z: 2.33, maxF1Drop: 0.01, minCorrections: 3, maxCorrections: 2000,
} as const
export type RetrainSettings = { readonly [K in keyof typeof RETRAIN_DEFAULTS]: number }

/** How candidates are trained: the fast optimizer and 8 epochs (grouped CV macro-F1 0.829 on the dev data vs 0.821 shipped). */
export const RETRAIN_TRAIN_OPTIONS: Partial<TrainOptions> = { optimizer: 'lazy-adam', epochs: 8, seed: 1 }

export interface RetrainData {
  readonly labelled: readonly LabelledDecision[]
  /** The shipped training rows, featurized with the current model's spec. */
  readonly base: BaseData
  readonly current: Served
  readonly bias: { readonly min: number; readonly max: number }
  /** The candidate's name when promoted (`v3`). */
  readonly version: string
  /** The operator's `bias` option, applied on top in every prediction (as classify does). */
  readonly optionBias?: Logits
  readonly signal?: AbortSignal
  /** Featurizes a decision that has a prompt but no usable features. */
  readonly featurize?: (req: Pick<ChatRequest, 'messages'>) => Vector
  readonly settings?: Partial<RetrainSettings>
  /** Training weight per label source (measurements); LABEL_WEIGHTS when absent. */
  readonly weights?: Readonly<Record<LabelSource, number>>
}

export interface RetrainOutcome {
  readonly promoted: boolean
  readonly reason: string
  readonly before: Record<string, unknown>
  readonly after: Record<string, unknown>
  /** The trained candidate (also when not promoted, for reports). */
  readonly candidate?: Served
  readonly labels: CollectedLabels
}

/** Shipped rows near no correction outside fold `skip` (-1: near none at all), from the per-row mask of near folds. */
function farFrom(nearFolds: Uint8Array, skip: number): Uint8Array {
  const others = skip < 0 ? 0xff : 0xff & ~(1 << skip)
  return nearFolds.map((mask) => ((mask & others) === 0 ? 1 : 0))
}

/** Train one version on the shipped rows `far` keeps plus `labels`, with its memory of those labels. */
async function trainServed(
  data: RetrainData, far: Uint8Array, skipFold: number, labels: readonly LabelledExample[], calibration: { temperature: number; classBias: Logits }, trainedOn: Iterable<string>,
): Promise<Served> {
  const { base, current } = data
  const rows = base.examples.filter((_, r) => far[r] === 1 && base.fold[r] !== skipFold)
  const examples = [...rows, ...labels.map((l) => ({ fv: { index: l.fv.index, value: l.fv.value, dense: l.fv.dense }, label: l.label, weight: l.weight }))]
  const model = await trainModelAsync(examples, { ...RETRAIN_TRAIN_OPTIONS, spec: current.model.spec }, data.signal)
  return {
    version: data.version, base: current.base, model: { ...model, meta: { ...current.model.meta, temperature: calibration.temperature } },
    ...calibration, memory: createCorrectionMemory(buildFamilies(labels, current.model.spec.bits)), trainedOn: new Set(trainedOn),
  }
}

/**
 * Train a candidate from the shipped rows plus the corrections and decide whether it replaces `current`. Pure: reads
 * nothing and writes nothing; the caller stores and swaps a promoted candidate. Throws only when aborted.
 */
export async function retrainCandidate(data: RetrainData): Promise<RetrainOutcome> {
  const s = { ...RETRAIN_DEFAULTS, ...data.settings }
  const { current, base } = data
  const bits = current.model.spec.bits
  const opt = data.optionBias ?? [0, 0, 0]
  const collected = collectLabels(data.labelled, bits, data.featurize, data.weights, s.maxCorrections)
  const labels = collected.examples
  const nothing = (reason: string): RetrainOutcome => ({ promoted: false, reason, before: { version: current.version, labels: collected.bySource }, after: {}, labels: collected })
  if (labels.length < s.minCorrections) return nothing(`not promoted: ${labels.length} usable corrections, at least ${s.minCorrections} needed`)
  const groups = cosineGroups(labels.map((l) => l.fv), s.groupCosine, bits)
  const kLabels = Math.min(BASE_FOLDS, new Set(groups).size)
  if (kLabels < 2) return nothing('not promoted: every correction is a near-duplicate of the others (one group), so none can be held out')
  const labelFold = groupedFolds(groups, labels.map((l) => l.label), kLabels, 1)
  const nBase = base.examples.length
  // Per shipped row, a bit for each fold that has a correction within `neighbourCosine` of it.
  const nearFolds = new Uint8Array(nBase)
  const scratch = createDotScratch(bits)
  const tick = createYielder(data.signal)
  for (const [i, l] of labels.entries()) {
    scratch.load(l.fv)
    for (let r = 0; r < nBase; r++) if (scratch.dot(base.examples[r]!.fv) >= s.neighbourCosine) nearFolds[r]! |= 1 << labelFold[i]!
    await tick()
  }
  const baseline = await baselineLogits(base, { ...RETRAIN_TRAIN_OPTIONS, spec: current.model.spec }, data.signal)

  // Grouped CV over the shipped folds and the corrections' folds at once: fold f's model never saw either fold f.
  const labelLogits: Logits[] = labels.map(() => [0, 0, 0])
  const labelHit: (MemoryHit | undefined)[] = labels.map(() => undefined)
  const baseLogits: Logits[] = base.examples.map(() => [0, 0, 0])
  const baseHit: (MemoryHit | undefined)[] = base.examples.map(() => undefined)
  for (let f = 0; f < BASE_FOLDS; f++) {
    const far = farFrom(nearFolds, f)
    const served = await trainServed(data, far, f, labels.filter((_, i) => labelFold[i] !== f), { temperature: 1, classBias: [0, 0, 0] }, [])
    labels.forEach((l, i) => {
      if (labelFold[i] !== f) return
      labelLogits[i] = modelLogits(served.model, l.fv)
      labelHit[i] = served.memory?.lookup(l.fv)
    })
    base.examples.forEach((ex, r) => {
      if (base.fold[r] !== f) return
      baseLogits[r] = modelLogits(served.model, ex.fv)
      baseHit[r] = served.memory?.lookup(ex.fv)
    })
    await tick()
  }
  // The candidate's temperature is fitted on its held-out logits of the kept shipped rows (thousands; the corrected
  // neighbourhood is expected to disagree with the dataset).
  const far = farFrom(nearFolds, -1)
  const kept = base.examples.map((_, r) => r).filter((r) => far[r] === 1)
  const keptGold = kept.map((r) => base.examples[r]!.label)
  const T = fitTemperature(kept.map((r) => baseLogits[r]!), keptGold)
  await tick()
  const tempered = (l: Logits): Logits => [l[0] / T + opt[0], l[1] / T + opt[1], l[2] / T + opt[2]]
  const baselineT = fitTemperature(baseline, base.examples.map((ex) => ex.label))
  await tick()
  const baselineBase = baseline.map((l) => decide(calibratedProbabilities(l, baselineT, opt), l, undefined))
  const baselineF1 = macroF1(keptGold, kept.map((r) => baselineBase[r]!.label))
  const gold = labels.map((l) => l.label)
  const evaluate = (foldBias: readonly Logits[], scale: number, memory: boolean) => {
    const at = (f: number): Logits => [scale * foldBias[f]![0], scale * foldBias[f]![1], scale * foldBias[f]![2]]
    const onLabels = labels.map((_, i) => decide(calibratedProbabilities(tempered(labelLogits[i]!), 1, at(labelFold[i]!)), labelLogits[i]!, memory ? labelHit[i] : undefined))
    const onBase = base.examples.map((_, r) => decide(calibratedProbabilities(tempered(baseLogits[r]!), 1, at(base.fold[r]!)), baseLogits[r]!, memory ? baseHit[r] : undefined))
    return { onLabels, onBase, accuracy: accuracy(gold, onLabels.map((p) => p.label)), drop: baselineF1 - macroF1(keptGold, kept.map((r) => onBase[r]!.label)) }
  }
  // The memory is part of the version only when, by this same CV, it answers the corrections at least as well as the model.
  const none = Array.from({ length: BASE_FOLDS }, (): Logits => [0, 0, 0])
  const useMemory = evaluate(none, 0, true).accuracy >= evaluate(none, 0, false).accuracy
  await tick()
  // The class bias is fitted where the memory does not answer, cross-fitted (fold f's bias never saw fold f's labels),
  // then scaled down (1, 1/2, 1/4, 0) until the guard on the kept shipped rows holds: the feedback moves the router
  // only as far as the shipped data allows.
  const fitBias = (f: number) => {
    const use = labels.map((_, i) => i).filter((i) => labelFold[i] !== f && (!useMemory || labelHit[i] === undefined))
    return fitClassBias(use.map((i) => tempered(labelLogits[i]!)), use.map((i) => labels[i]!.label), use.map((i) => labels[i]!.weight), 1, data.bias)
  }
  const foldBias = Array.from({ length: BASE_FOLDS }, (_, f) => fitBias(f))
  let scale = 0
  for (const a of [1, 0.5, 0.25]) {
    await tick()
    if (evaluate(foldBias, a, useMemory).drop <= s.maxF1Drop) {
      scale = a
      break
    }
  }
  const { onLabels: cvLabels, onBase: cvBase } = evaluate(foldBias, scale, useMemory)
  const finalBias = fitBias(-1).map((b) => Math.round(scale * b * 1e4) / 1e4) as unknown as Logits

  const served = await trainServed(data, far, -1, labels, { temperature: T, classBias: finalBias }, [...current.trainedOn, ...labels.map((l) => l.key)])
  const candidate = useMemory ? served : { ...served, memory: createCorrectionMemory([]) }
  const currentLabels = labels.map((l) => predict(current, l.fv, opt))
  const fit = (served: Served) => kept.map((r) => predict(served, base.examples[r]!.fv, opt).label)
  const fresh = labels.map((l) => !current.trainedOn.has(l.key))
  const common = { labels, fresh, collected, base, kept }
  const before = reportVersion(current, { ...common, onLabels: currentLabels, onBase: baselineBase, fit: fit(current) })
  await tick()
  const after = { ...reportVersion(candidate, { ...common, onLabels: cvLabels, onBase: cvBase, fit: fit(candidate) }), biasScale: scale, memoryUsed: useMemory }

  const { wins, losses, passed } = signTest(labels.map((l, i) => fresh[i] ? [currentLabels[i]!.label === l.label, cvLabels[i]!.label === l.label] : undefined), s.z)
  const nFresh = fresh.filter(Boolean).length
  const drop = Math.round((before.keptShipped.macroF1 - after.keptShipped.macroF1) * 1e4) / 1e4
  const test = `${wins} corrections fixed, ${losses} broken (of ${nFresh} new; needs ${wins - losses} >= ${(s.z * Math.sqrt(wins + losses)).toFixed(1)})`
  const guard = `held-out macro-F1 on the kept shipped rows ${before.keptShipped.macroF1.toFixed(3)} -> ${after.keptShipped.macroF1.toFixed(3)} (${nBase - kept.length} near the corrections left out; max drop ${s.maxF1Drop})`
  const acc = `accuracy on new corrections ${before.corrections.newAccuracy.toFixed(3)} -> ${after.corrections.newAccuracy.toFixed(3)} by grouped CV`
  const out = { before, after, candidate, labels: collected }
  if (nFresh === 0) return { ...out, promoted: false, reason: `not promoted: no corrections since ${current.version} was trained` }
  if (!passed) return { ...out, promoted: false, reason: `not promoted: the candidate is not reliably more accurate on the corrections: ${acc}; ${test}` }
  if (drop > s.maxF1Drop) return { ...out, promoted: false, reason: `not promoted: it would forget the shipped data: ${guard}` }
  return { ...out, promoted: true, reason: `promoted ${data.version}: ${acc}; ${test}; ${guard}` }
}
