/** Leak-free validation splits: near-duplicate clusters of prompts, assigned whole to grouped folds. */
import { TASK_CLASSES } from 'switchyard/plugin'
import type { TaskClass } from 'switchyard/plugin'
import { calibratedProbabilities, expectedCalibrationError, fitTemperature, logitsEce } from './calibration.ts'
import { argmaxClass, softmaxScores } from '../heuristic-classifier/index.ts'
import { isNonCommercial, rowText } from './dataset.ts'
import type { LabelledRow } from './dataset.ts'
import type { FeatureVector } from './featurize.ts'
import { modelLogits } from './model.ts'
import { createRandom, shuffleInPlace, trainModel } from './train.ts'
import { runSteps, runStepsAsync } from './yielder.ts'
import type { TrainExample, TrainOptions } from './train.ts'
import { createUnionFind } from './union-find.ts'

const normalize = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim()

/**
 * Cluster near-duplicate prompts (same normalized 48-character prefix, or Jaccard >= 0.5 over word
 * 3-shingles) with union-find; returns a group id per prompt. Rows in one group never straddle folds.
 */
export function nearDuplicateGroups(prompts: readonly string[]): number[] {
  return runSteps(nearDuplicateSteps(prompts))
}

/** `nearDuplicateGroups` that gives the event loop a turn now and then (a retrain inside the gateway). */
export function nearDuplicateGroupsAsync(prompts: readonly string[], tick: () => Promise<void> | undefined): Promise<number[]> {
  return runStepsAsync(nearDuplicateSteps(prompts), tick)
}

function* nearDuplicateSteps(prompts: readonly string[]): Generator<void, number[]> {
  const { find, union } = createUnionFind(prompts.length)
  const byPrefix = new Map<string, number>()
  const shingles: Set<string>[] = []
  for (const [i, p] of prompts.entries()) {
    if (i % 64 === 0) yield
    const norm = normalize(p)
    const prefix = norm.slice(0, 48)
    const seen = byPrefix.get(prefix)
    if (seen === undefined) byPrefix.set(prefix, i)
    else union(seen, i)
    const words = norm.split(' ').slice(0, 200)
    const set = new Set<string>()
    for (let j = 0; j + 3 <= words.length; j++) set.add(`${words[j]} ${words[j + 1]} ${words[j + 2]}`)
    shingles.push(set)
  }
  // Candidate pairs share a rare shingle; common boilerplate ("you are given an") is skipped.
  const postings = new Map<string, number[]>()
  for (const [i, set] of shingles.entries()) {
    if (i % 64 === 0) yield
    for (const s of set) {
      const list = postings.get(s)
      if (list) list.push(i)
      else postings.set(s, [i])
    }
  }
  const checked = new Set<number>()
  let lists = 0
  for (const list of postings.values()) {
    if (list.length < 2 || list.length > 40) continue
    if (++lists % 64 === 0) yield
    for (let x = 0; x < list.length; x++) {
      for (let y = x + 1; y < list.length; y++) {
        const a = list[x]!
        const b = list[y]!
        const key = a * prompts.length + b
        if (checked.has(key)) continue
        checked.add(key)
        const sa = shingles[a]!
        const sb = shingles[b]!
        let inter = 0
        for (const s of sa) if (sb.has(s)) inter++
        const jaccard = inter / (sa.size + sb.size - inter || 1)
        if (jaccard >= 0.5) union(a, b)
      }
    }
  }
  return prompts.map((_, i) => find(i))
}

/**
 * Assign whole groups to k folds, stratified per (source, label) stratum so each fold sees every kind
 * of row: groups are shuffled with the seed, then each goes to the fold with the fewest rows of its stratum.
 */
export function groupedFolds(groups: readonly number[], strata: readonly string[], k: number, seed: number): number[] {
  const members = new Map<number, number[]>()
  groups.forEach((g, i) => {
    const list = members.get(g)
    if (list) list.push(i)
    else members.set(g, [i])
  })
  const ids = shuffleInPlace([...members.keys()], createRandom(seed))
  ids.sort((a, b) => members.get(b)!.length - members.get(a)!.length)
  const load = new Map<string, number[]>()
  const total = Array.from({ length: k }, () => 0)
  const fold = groups.map(() => 0)
  for (const g of ids) {
    const rows = members.get(g)!
    const stratum = strata[rows[0]!] ?? ''
    const counts = load.get(stratum) ?? Array.from({ length: k }, () => 0)
    load.set(stratum, counts)
    let best = 0
    for (let f = 1; f < k; f++) {
      if (counts[f]! < counts[best]! || (counts[f] === counts[best] && total[f]! < total[best]!)) best = f
    }
    for (const r of rows) fold[r] = best
    counts[best]! += rows.length
    total[best]! += rows.length
  }
  return fold
}

/** One held-out prediction from a validation run. */
export interface HeldOut {
  readonly row: number
  readonly predicted: TaskClass
  readonly confidence: number
  /** The model's raw logits (before temperature and bias), for calibration; absent for classifiers without them. */
  readonly logits?: readonly [number, number, number]
}

export interface ValidationInput {
  readonly rows: readonly LabelledRow[]
  /** Featurized rows, index-aligned with `rows` (featurize once, train many times). */
  readonly vectors: readonly FeatureVector[]
  readonly train: Partial<TrainOptions>
  /** Added to class logits at prediction time, as the plugin's `bias` option does. */
  readonly bias: readonly [number, number, number]
  /** Divides the logits before the bias is added, as classify does with a weights file's `meta.temperature`; 1 when absent. */
  readonly temperature?: number
  /** Leave non-commercially licensed rows out of every training split (they are still scored). */
  readonly excludeNonCommercial: boolean
  /** Added to every training split and never scored (a supplement), so the scored rows' numbers stay honest. */
  readonly extra?: readonly TrainExample[]
}

/** Train on `trainRows`, predict `testRows`; training never sees a scored row. */
function fitAndPredict(input: ValidationInput, trainRows: readonly number[], testRows: readonly number[]): HeldOut[] {
  const examples = trainRows
    .filter((i) => !input.excludeNonCommercial || !isNonCommercial(input.rows[i]!))
    .map((i) => ({ fv: input.vectors[i]!, label: input.rows[i]!.label }))
  const model = trainModel([...examples, ...(input.extra ?? [])], input.train)
  return testRows.map((row) => {
    const logits = modelLogits(model, input.vectors[row]!)
    const t = input.temperature ?? 1
    const scores = softmaxScores({ SIMPLE: logits[0] / t + input.bias[0], MODERATE: logits[1] / t + input.bias[1], COMPLEX: logits[2] / t + input.bias[2] })
    const predicted = argmaxClass(scores)
    return { row, predicted, confidence: scores[predicted], logits }
  })
}

/** Grouped, stratified k-fold cross-validation: every row is predicted by a model that never saw its cluster. */
export function groupedCrossValidation(input: ValidationInput, k: number, seed: number): HeldOut[] {
  const groups = nearDuplicateGroups(input.rows.map(rowText))
  const fold = groupedFolds(groups, input.rows.map((r) => `${r.source}|${r.label}`), k, seed)
  const out: HeldOut[] = []
  for (let f = 0; f < k; f++) {
    const train = input.rows.map((_, i) => i).filter((i) => fold[i] !== f)
    const test = input.rows.map((_, i) => i).filter((i) => fold[i] === f)
    out.push(...fitAndPredict(input, train, test))
  }
  return out.sort((a, b) => a.row - b.row)
}

/** Leave-one-source-out: each source is predicted by a model trained on all the other sources only. */
export function leaveOneSourceOut(input: ValidationInput): HeldOut[] {
  const sources = [...new Set(input.rows.map((r) => r.source))]
  const out: HeldOut[] = []
  for (const source of sources) {
    const train = input.rows.map((_, i) => i).filter((i) => input.rows[i]!.source !== source)
    const test = input.rows.map((_, i) => i).filter((i) => input.rows[i]!.source === source)
    out.push(...fitAndPredict(input, train, test))
  }
  return out.sort((a, b) => a.row - b.row)
}

/**
 * The temperature for a model trained on all of `input`: fitted (minimum NLL) on its grouped-CV held-out logits.
 * Also returns the held-out ECE before and after, the latter cross-fitted (each fold scored with a temperature fitted
 * on the other folds), so the figure is not measured on the rows the temperature was fitted to.
 */
export function crossValidatedTemperature(input: ValidationInput, k: number, seed: number) {
  const held = groupedCrossValidation({ ...input, temperature: 1, bias: [0, 0, 0] }, k, seed)
  const labels = held.map((h) => input.rows[h.row]!.label)
  const logits = held.map((h) => h.logits!)
  const temperature = fitTemperature(logits, labels)
  const groups = nearDuplicateGroups(input.rows.map(rowText))
  const fold = groupedFolds(groups, input.rows.map((r) => `${r.source}|${r.label}`), k, seed)
  const byFold = Array.from({ length: k }, (_, f) => {
    const other = held.filter((o) => fold[o.row] !== f)
    return fitTemperature(other.map((o) => o.logits!), other.map((o) => input.rows[o.row]!.label))
  })
  const confidence = new Float64Array(held.length)
  const correct = held.map((h, i) => {
    const p = calibratedProbabilities(h.logits!, byFold[fold[h.row]!]!)
    confidence[i] = Math.max(...p)
    return TASK_CLASSES[p.indexOf(confidence[i]!)] === labels[i]
  })
  const round = (x: number) => Math.round(x * 1e4) / 1e4
  return { temperature, eceRaw: round(logitsEce(logits, labels)), eceCrossFitted: round(expectedCalibrationError(confidence, correct)) }
}
