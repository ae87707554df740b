/** Feature-family ablation of the learned classifier: each family off, retrained, scored on the dev data and the multi-turn set. */
import { parseArgs } from 'node:util'
import { TASK_CLASSES } from 'switchyard/plugin'
import type { TaskClass } from 'switchyard/plugin'
import { groupedCrossValidation, leaveOneSourceOut } from '../plugins/learned-classifier/cross-validate.ts'
import type { HeldOut } from '../plugins/learned-classifier/cross-validate.ts'
import { readRows, rowRequest } from '../plugins/learned-classifier/dataset.ts'
import type { LabelledRow } from '../plugins/learned-classifier/dataset.ts'
import { createFeaturizer, DEFAULT_FEATURE_SPEC, FEATURE_FAMILIES } from '../plugins/learned-classifier/featurize.ts'
import type { FeatureFamily } from '../plugins/learned-classifier/featurize.ts'
import { modelLogits } from '../plugins/learned-classifier/model.ts'
import { DEFAULT_TRAIN_OPTIONS, trainModel } from '../plugins/learned-classifier/train.ts'
import { computeReport } from './classifier-report.ts'
import { messageOf } from '../src/errors.ts'
import { DEFAULT_DATA, MULTITURN, SUPPLEMENT } from './train.ts'

export const MULTITURN_TEST = 'plugins/learned-classifier/multiturn-test.jsonl'
const SUPPLEMENT_TEST = 'plugins/learned-classifier/supplement-test.jsonl'

const USAGE = `usage: bun scripts/ablation.ts [--only NAME,...] [--json]
  Each row retrains the shipped recipe (seed 1; ${DEFAULT_DATA} + ${SUPPLEMENT} + ${MULTITURN}) with feature families
  off and reports grouped 5-fold CV on ${DEFAULT_DATA} (the extra rows join every training fold, never scored), then a
  model trained on all of it scored on ${MULTITURN_TEST} and ${SUPPLEMENT_TEST} (never trained on); also
  leave-one-source-out macro-F1 on the dev data (each source predicted by a model trained on the others).
  --only NAME    run only these rows (${['all', ...FEATURE_FAMILIES.map((f) => `-${f}`), '-all', 'no-multiturn-rows'].join(', ')})`

interface Variant {
  readonly name: string
  readonly off: readonly FeatureFamily[]
  /** Train without the multi-turn rows (the context features then have nothing to learn from). */
  readonly singleTurnOnly?: boolean
}

const VARIANTS: readonly Variant[] = [
  { name: 'all', off: [] },
  ...FEATURE_FAMILIES.map((f) => ({ name: `-${f}`, off: [f] })),
  { name: '-all', off: FEATURE_FAMILIES },
  { name: 'no-multiturn-rows', off: [], singleTurnOnly: true },
]

const round3 = (x: number) => Math.round(x * 1000) / 1000

/** Accuracy and macro-F1 of a model on rows it never saw, plus the per-task correct counts. */
function score(rows: readonly LabelledRow[], predicted: readonly TaskClass[]) {
  const r = computeReport(rows.map((row, i) => ({ label: row.label, predicted: predicted[i]!, source: row.source })), [])
  const byTask: Record<string, [number, number]> = {}
  rows.forEach((row, i) => {
    const t = (byTask[`${row.label[0]} ${row.task ?? '?'}`] ??= [0, 0])
    t[1]++
    if (predicted[i] === row.label) t[0]++
  })
  return { accuracy: r.accuracy, macro_f1: r.macro_f1, byTask }
}

const argmax = (l: readonly [number, number, number]): TaskClass => TASK_CLASSES[l[2] >= l[1] && l[2] >= l[0] ? 2 : l[1] >= l[0] ? 1 : 0]!

async function main() {
  const { values } = parseArgs({ options: { only: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean' } } })
  if (values.help) {
    console.log(USAGE)
    return
  }
  const only = values.only?.split(',').map((s) => s.trim())
  const variants = only ? VARIANTS.filter((v) => only.includes(v.name)) : VARIANTS
  if (variants.length === 0) throw new Error(`--only names no row; rows: ${VARIANTS.map((v) => v.name).join(', ')}`)
  const dev = await readRows(DEFAULT_DATA)
  const supplement = await readRows(SUPPLEMENT)
  const multiturn = await readRows(MULTITURN)
  const multiturnTest = await readRows(MULTITURN_TEST)
  const supplementTest = await readRows(SUPPLEMENT_TEST)
  const results = []
  console.log('| features | dev grouped CV acc | dev macro-F1 | dev LOSO macro-F1 | multi-turn test acc | multi-turn macro-F1 | supplement-test macro-F1 | s |')
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |')
  for (const variant of variants) {
    const start = Bun.nanoseconds()
    const spec = { ...DEFAULT_FEATURE_SPEC, ...(variant.off.length > 0 && { off: variant.off }) }
    const featurize = createFeaturizer(spec)
    const vectorOf = (r: LabelledRow) => featurize(rowRequest(r))
    const extraRows = variant.singleTurnOnly ? supplement : [...supplement, ...multiturn]
    const extra = extraRows.map((r) => ({ fv: vectorOf(r), label: r.label }))
    const train = { ...DEFAULT_TRAIN_OPTIONS, seed: 1, spec }
    const input = { rows: dev, vectors: dev.map(vectorOf), train, extra, bias: [0, 0, 0] as const, excludeNonCommercial: false }
    const report = (held: readonly HeldOut[]) => computeReport(held.map((h) => ({ label: dev[h.row]!.label, predicted: h.predicted, source: dev[h.row]!.source })), [])
    const cv = report(groupedCrossValidation(input, 5, 1))
    const loso = report(leaveOneSourceOut(input))
    const model = trainModel([...dev.map((r) => ({ fv: vectorOf(r), label: r.label })), ...extra], train)
    const mt = score(multiturnTest, multiturnTest.map((r) => argmax(modelLogits(model, vectorOf(r)))))
    const st = score(supplementTest, supplementTest.map((r) => argmax(modelLogits(model, vectorOf(r)))))
    const seconds = (Bun.nanoseconds() - start) / 1e9
    const row = {
      name: variant.name, off: variant.off, dev: { accuracy: cv.accuracy, macro_f1: cv.macro_f1 }, loso: { accuracy: loso.accuracy, macro_f1: loso.macro_f1 },
      multiturn: mt, supplementTest: { accuracy: st.accuracy, macro_f1: st.macro_f1 },
    }
    results.push(row)
    console.log(`| ${variant.name} | ${round3(cv.accuracy)} | ${round3(cv.macro_f1)} | ${round3(loso.macro_f1)} | ${round3(mt.accuracy)} | ${round3(mt.macro_f1)} | ${round3(st.macro_f1)} | ${seconds.toFixed(0)} |`)
  }
  console.log('\nmulti-turn test, correct / rows by label and task:')
  for (const r of results) console.log(`  ${r.name.padEnd(18)} ${Object.entries(r.multiturn.byTask).map(([t, [ok, n]]) => `${t} ${ok}/${n}`).join(', ')}`)
  if (values.json) console.log(JSON.stringify(results))
}

if (import.meta.main) {
  main().catch((err: unknown) => {
    console.error(`ablation: ${messageOf(err)}`)
    process.exit(1)
  })
}
