/** `eval --adapt`: how fast the learned classifier follows corrections (policy shift, new source), against baselines. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Classification, TaskClass } from 'switchyard/plugin'
import { readRows, rowRequest } from '../plugins/learned-classifier/dataset.ts'
import type { LabelledRow } from '../plugins/learned-classifier/dataset.ts'
import { createFeaturizer } from '../plugins/learned-classifier/featurize.ts'
import type { Vector } from '../plugins/learned-classifier/featurize.ts'
import { DEFAULT_WEIGHTS_PATH } from '../plugins/learned-classifier/index.ts'
import { MEMORY_DEFAULTS } from '../plugins/learned-classifier/memory.ts'
import { accuracy, macroF1 } from '../plugins/learned-classifier/metrics.ts'
import { encodeModel } from '../plugins/learned-classifier/model.ts'
import { predict } from '../plugins/learned-classifier/predictor.ts'
import type { Served } from '../plugins/learned-classifier/predictor.ts'
import { createDotScratch, toVector } from '../plugins/learned-classifier/similarity.ts'
import { createRandom, shuffleInPlace, trainModel } from '../plugins/learned-classifier/train.ts'
import { loadVersion, readWeights } from '../plugins/learned-classifier/versions.ts'
import { classBelow } from 'switchyard/plugin'
import { createKeep, startHarness } from './adapt-harness.ts'
import { DEFAULT_DATA, SUPPLEMENT } from './train.ts'

const SEED = 1
const SHIFT_FAMILY = 'mbpp-plus'
const SHIFT_COUNTS = [10, 20, 40] as const
const MAX_SOURCE_CORRECTIONS = 200

const vectorOf = (c: Classification) => toVector(c.features!, 15)!
const pct = (x: number) => `${(x * 100).toFixed(1)}%`
const f3 = (x: number) => x.toFixed(3)

/** The shipped model with a nearest-neighbour override: the closest correction's label when its cosine reaches the memory's. */
function knnOverride(corrections: readonly { fv: Vector; label: TaskClass }[], alone: boolean) {
  const scratch = createDotScratch(15)
  return (fv: Vector, fallback: TaskClass): TaskClass => {
    scratch.load(fv)
    let best = -1
    let label = fallback
    for (const c of corrections) {
      const cos = scratch.dot(c.fv)
      if (cos > best) [best, label] = [cos, c.label]
    }
    return alone || best >= MEMORY_DEFAULTS.answerCosine ? label : fallback
  }
}

interface ShiftRow { corrections: number; variant: string; promoted?: boolean; follow: number; otherF1: number; otherDrop: number; seconds?: number; heldOutDrop?: number }

/** (a) Policy shift: every MBPP task is now SIMPLE; "too strong" verdicts arrive for some of them. */
async function policyShift(rows: readonly LabelledRow[], keep: ReturnType<typeof createKeep>, shipped: Served): Promise<ShiftRow[]> {
  const family = shuffleInPlace(rows.filter((r) => r.source === SHIFT_FAMILY), createRandom(SEED))
  const rest = family.slice(Math.max(...SHIFT_COUNTS))
  const other = rows.filter((r) => r.source !== SHIFT_FAMILY)
  const goal = (r: LabelledRow) => classBelow(r.label)
  const before = await startHarness({}, keep)
  const restBefore = before.classify(rest)
  const otherBefore = before.classify(other)
  await before.close()
  const gold = other.map((r) => r.label)
  const f1Before = macroF1(gold, otherBefore.map((c) => c.label))
  const out: ShiftRow[] = [{ corrections: 0, variant: 'shipped', follow: accuracy(rest.map(goal), restBefore.map((c) => c.label)), otherF1: f1Before, otherDrop: 0 }]
  const row = (corrections: number, variant: string, restPred: readonly TaskClass[], otherPred: readonly TaskClass[], more: Partial<ShiftRow> = {}) => {
    const otherF1 = macroF1(gold, otherPred)
    out.push({ corrections, variant, follow: accuracy(rest.map(goal), restPred), otherF1, otherDrop: Math.round((f1Before - otherF1) * 1e4) / 1e4, ...more })
  }
  const featurize = createFeaturizer(shipped.model.spec)
  const trainingRows = [...rows, ...(await readRows(SUPPLEMENT))].map((r) => ({ fv: featurize(rowRequest(r)), label: r.label }))
  for (const n of SHIFT_COUNTS) {
    const corrected = family.slice(0, n)
    const corrections = corrected.map((r) => ({ fv: featurize(rowRequest(r)), label: goal(r) }))
    const h = await startHarness({}, keep)
    const { result, ms } = await h.correct(corrected, goal, 'verdict')
    const restAfter = h.classify(rest)
    const otherAfter = h.classify(other)
    const heldOutDrop = Number(((result.before.keptShipped as { macroF1?: number } | undefined)?.macroF1 ?? 0) - ((result.after.keptShipped as { macroF1?: number } | undefined)?.macroF1 ?? 0))
    row(n, 'retrain hook (served after)', restAfter.map((c) => c.label), otherAfter.map((c) => c.label), { promoted: result.promoted, seconds: ms / 1000, heldOutDrop: Math.round(heldOutDrop * 1e4) / 1e4 })
    if (result.promoted) {
      const version = await loadVersion(h.dir, result.version, shipped)
      const bare = { ...version, memory: undefined }
      row(n, '  the same version without its memory', restAfter.map((c) => predict(bare, vectorOf(c)).label), otherAfter.map((c) => predict(bare, vectorOf(c)).label))
    }
    await h.close()
    const knn = knnOverride(corrections, false)
    row(n, 'shipped + nearest-neighbour override', restBefore.map((c) => knn(vectorOf(c), c.label)), otherBefore.map((c) => knn(vectorOf(c), c.label)))
    const alone = knnOverride(corrections, true)
    row(n, 'nearest neighbour alone', restBefore.map((c) => alone(vectorOf(c), c.label)), otherBefore.map((c) => alone(vectorOf(c), c.label)))
    const naive = { ...shipped, model: trainModel([...trainingRows, ...corrections]) }
    row(n, 'naive: rows added to the training data', restBefore.map((c) => predict(naive, vectorOf(c)).label), otherBefore.map((c) => predict(naive, vectorOf(c)).label))
  }
  return out
}

interface SourceRow { source: string; corrected: number; scored: number; promoted: boolean; reason: string; seconds: number; f1: Record<string, number> }

/** (b) New source: a model that never saw a source, corrected on half of it (at most 200 rows), scored on the other half. */
async function newSource(rows: readonly LabelledRow[], keep: ReturnType<typeof createKeep>) {
  const supplement = await readRows(SUPPLEMENT)
  const featurize = createFeaturizer()
  const work = await mkdtemp(join(tmpdir(), 'switchyard-loso-'))
  const variants = ['before (trained without the source)', 'retrain hook (served after)', 'shipped + nearest-neighbour override', 'nearest neighbour alone'] as const
  const pooled = Object.fromEntries(variants.map((v) => [v, { gold: [] as TaskClass[], pred: [] as TaskClass[] }]))
  const perSource: SourceRow[] = []
  try {
    for (const source of [...new Set(rows.map((r) => r.source))].sort()) {
      const own = shuffleInPlace(rows.filter((r) => r.source === source), createRandom(SEED))
      const half = Math.floor(own.length / 2)
      const corrected = own.slice(0, Math.min(half, MAX_SOURCE_CORRECTIONS))
      const scored = own.slice(half)
      const trainRows = [...rows.filter((r) => r.source !== source), ...supplement]
      const dataPath = join(work, `${source.replace(/\W+/g, '-')}.jsonl`)
      const weightsPath = join(work, `${source.replace(/\W+/g, '-')}.weights.json`)
      await Bun.write(dataPath, trainRows.map((r) => JSON.stringify(r)).join('\n'))
      const model = trainModel(trainRows.map((r) => ({ fv: featurize(rowRequest(r)), label: r.label })))
      await Bun.write(weightsPath, JSON.stringify(encodeModel(model)))
      const h = await startHarness({ weights: weightsPath, trainingData: [dataPath] }, keep)
      const before = h.classify(scored)
      const { result, ms } = await h.correct(corrected, (r) => r.label, 'feedback')
      const after = h.classify(scored)
      await h.close()
      const corrections = corrected.map((r) => ({ fv: featurize(rowRequest(r)), label: r.label }))
      const knn = knnOverride(corrections, false)
      const alone = knnOverride(corrections, true)
      const preds: Record<(typeof variants)[number], TaskClass[]> = {
        [variants[0]]: before.map((c) => c.label), [variants[1]]: after.map((c) => c.label),
        [variants[2]]: before.map((c) => knn(vectorOf(c), c.label)), [variants[3]]: before.map((c) => alone(vectorOf(c), c.label)),
      }
      const gold = scored.map((r) => r.label)
      for (const v of variants) {
        pooled[v]!.gold.push(...gold)
        pooled[v]!.pred.push(...preds[v])
      }
      perSource.push({ source, corrected: corrected.length, scored: scored.length, promoted: result.promoted, reason: result.reason, seconds: ms / 1000, f1: Object.fromEntries(variants.map((v) => [v, macroF1(gold, preds[v])])) })
    }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
  const total = Object.fromEntries(variants.map((v) => [v, { macroF1: macroF1(pooled[v]!.gold, pooled[v]!.pred), accuracy: accuracy(pooled[v]!.gold, pooled[v]!.pred) }]))
  return { variants, perSource, total }
}

/** Run both scenarios, print their tables, return every figure. */
export async function runAdapt() {
  const rows = await readRows(DEFAULT_DATA)
  const keep = createKeep()
  const shipped = await readWeights(DEFAULT_WEIGHTS_PATH, true)
  const start = performance.now()
  const shift = await policyShift(rows, keep, shipped)
  const restN = rows.filter((r) => r.source === SHIFT_FAMILY).length - Math.max(...SHIFT_COUNTS)
  console.log(`(a) policy shift: every ${SHIFT_FAMILY} task one class down (MODERATE -> SIMPLE); "too strong" verdicts for n of them (seed ${SEED})`)
  console.log(`    follow = share of the other ${restN} ${SHIFT_FAMILY} rows now labelled one class down; other rows = the ${rows.length - restN - Math.max(...SHIFT_COUNTS)} rows of the other sources (macro-F1 of the served version on them)\n`)
  console.log('| n | variant | promoted | follow | other rows macro-F1 | drop | held-out drop (guard) | retrain s |\n| --- | --- | --- | --- | --- | --- | --- | --- |')
  for (const r of shift) {
    console.log(`| ${r.corrections} | ${r.variant} | ${r.promoted === undefined ? '' : r.promoted ? 'yes' : 'no'} | ${pct(r.follow)} | ${f3(r.otherF1)} | ${r.otherDrop.toFixed(3)} | ${r.heldOutDrop === undefined ? '' : r.heldOutDrop.toFixed(3)} | ${r.seconds === undefined ? '' : r.seconds.toFixed(1)} |`)
  }
  const loso = await newSource(rows, keep)
  console.log(`\n(b) new source: trained without the source, then "feedback" with the right label for half of its rows (at most ${MAX_SOURCE_CORRECTIONS}), scored on the other half (seed ${SEED})\n`)
  console.log(`| source | corrected | scored | promoted | retrain s | ${loso.variants.join(' | ')} |\n| --- | --- | --- | --- | --- | ${loso.variants.map(() => '---').join(' | ')} |`)
  for (const s of loso.perSource) console.log(`| ${s.source} | ${s.corrected} | ${s.scored} | ${s.promoted ? 'yes' : 'no'} | ${s.seconds.toFixed(1)} | ${loso.variants.map((v) => f3(s.f1[v]!)).join(' | ')} |`)
  console.log(`| **pooled macro-F1** | ${loso.perSource.reduce((s, r) => s + r.corrected, 0)} | ${loso.perSource.reduce((s, r) => s + r.scored, 0)} | | | ${loso.variants.map((v) => `**${f3(loso.total[v]!.macroF1)}**`).join(' | ')} |`)
  for (const s of loso.perSource) console.log(`- ${s.source}: ${s.reason}`)
  console.log(`\nadapt evaluation took ${((performance.now() - start) / 1000).toFixed(0)} s`)
  return { policyShift: shift, newSource: loso }
}
