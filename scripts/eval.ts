/** Evaluation CLI: score a classifier on labelled JSONL (or cross-validate the learned one) and print the report. */
import { parseArgs } from 'node:util'
import * as v from 'valibot'
import { keepNothing, TASK_CLASSES } from 'switchyard/plugin'
import type { Classification, GatewayInfo, Logger, PluginDefinition } from 'switchyard/plugin'
import { classifierPlugins } from '../plugins/classifiers.ts'
import { groupedCrossValidation, leaveOneSourceOut } from '../plugins/learned-classifier/cross-validate.ts'
import type { HeldOut } from '../plugins/learned-classifier/cross-validate.ts'
import { isNonCommercial, readExtraRows, readRows, rowRequest } from '../plugins/learned-classifier/dataset.ts'
import type { LabelledRow } from '../plugins/learned-classifier/dataset.ts'
import { createFeaturizer } from '../plugins/learned-classifier/featurize.ts'
import { DEFAULT_TRAIN_OPTIONS } from '../plugins/learned-classifier/train.ts'
import { expectedCalibrationError, logitsEce } from '../plugins/learned-classifier/calibration.ts'
import { decodeModel } from '../plugins/learned-classifier/model.ts'
import { DEFAULT_WEIGHTS_PATH, resolveWeightsPath } from '../plugins/learned-classifier/index.ts'
import { temperatureOf } from '../plugins/learned-classifier/predictor.ts'
import { runAdapt } from './adapt.ts'
import { computeReport, formatReport } from './classifier-report.ts'
import type { Prediction, Report } from './classifier-report.ts'
import { messageOf } from '../src/errors.ts'
import { resolve } from 'node:path'
import { loadConfig } from '../src/config/load.ts'
import { DEFAULT_DATA, MULTITURN, SUPPLEMENT } from './train.ts'

const USAGE = `usage: bun scripts/eval.ts [--data FILE.jsonl] [--classifier NAME] [--options JSON] [--config FILE]
       [--json] [--predictions OUT.jsonl] [--folds K [--seed N] [--exclude-nc] [--extra FILE.jsonl]...]
       bun scripts/eval.ts --adapt [--json]
  no arguments   the published evaluation of the learned classifier: --data ${DEFAULT_DATA} --folds 5
                 --extra ${SUPPLEMENT},${MULTITURN}, then the shipped weights over the whole file (latency)
                 (feature-family ablation: bun scripts/ablation.ts)
  --data FILE    labelled JSONL (default ${DEFAULT_DATA})
  --extra FILE   with --folds: rows added to every training split and never scored (repeatable or comma-separated)
  --adapt        learning from corrections: policy shift and new-source scenarios through the retrain hook (fixed seeds)`

const quietLog: Logger = { debug() {}, info() {}, warn() {}, error() {} }

interface ClassifierChoice { name: string; options: unknown; baseDir: string; gateway: GatewayInfo }

/** `--config FILE`: the first classifier entry in the gateway config's `plugins`, with its options. */
async function classifierFromConfig(path: string): Promise<ClassifierChoice> {
  const loaded = await loadConfig(resolve(path))
  const names = new Set(classifierPlugins.map((p) => p.name as string))
  const entry = loaded.config.plugins?.find((p) => names.has(p.use) && p.enabled)
  if (!entry) throw new Error(`${path}: no built-in classifier plugin in "plugins"`)
  return { name: entry.use, options: entry.options ?? {}, baseDir: loaded.baseDir, gateway: { backends: loaded.config.backends } }
}

/** Run a built-in classifier over every row, timing each classify call. */
async function runClassifier(rows: readonly LabelledRow[], choice: ClassifierChoice): Promise<{ held: HeldOut[]; latencies: number[] }> {
  const def = classifierPlugins.find((p) => p.name === choice.name) as PluginDefinition<'classifier'> | undefined
  if (!def) throw new Error(`unknown classifier "${choice.name}"; built-in: ${classifierPlugins.map((p) => p.name).join(', ')}`)
  const controller = new AbortController()
  const instance = await def.setup({
    name: def.name, options: v.parse(def.options, choice.options), signal: controller.signal, log: quietLog,
    gateway: choice.gateway, baseDir: choice.baseDir, keep: keepNothing,
  })
  const held: HeldOut[] = []
  const latencies: number[] = []
  try {
    // Warm up on the whole file once so one-time JIT and lazy work do not count as per-prompt latency.
    for (const row of rows) await instance.classify(rowRequest(row), controller.signal)
    for (const [i, row] of rows.entries()) {
      const req = rowRequest(row)
      const start = Bun.nanoseconds()
      const out: Classification = await instance.classify(req, controller.signal)
      latencies.push((Bun.nanoseconds() - start) / 1000)
      held.push({ row: i, predicted: out.label, confidence: out.confidence })
    }
  } finally {
    controller.abort()
    await instance.close?.()
  }
  return { held, latencies }
}

const round4 = (x: number) => Math.round(x * 1e4) / 1e4

const toPredictions = (rows: readonly LabelledRow[], held: readonly HeldOut[]): Prediction[] =>
  held.map((h) => ({ label: rows[h.row]!.label, predicted: h.predicted, source: rows[h.row]!.source }))

async function main() {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' }, classifier: { type: 'string' }, options: { type: 'string' }, config: { type: 'string' },
      json: { type: 'boolean', default: false }, predictions: { type: 'string' }, folds: { type: 'string' },
      seed: { type: 'string', default: '1' }, extra: { type: 'string', multiple: true }, 'exclude-nc': { type: 'boolean', default: false },
      adapt: { type: 'boolean', default: false }, help: { type: 'boolean' },
    },
  })
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  if (values.adapt) {
    const out = await runAdapt()
    if (values.json) console.log(JSON.stringify(out))
    return
  }
  // No arguments: the published run (grouped CV with the supplement, then the shipped weights for latency).
  const published = process.argv.length <= 2
  if (published) {
    values.folds = '5'
    values.extra = [SUPPLEMENT, MULTITURN]
  }
  const rows = await readRows(values.data ?? DEFAULT_DATA)
  const choice: ClassifierChoice = values.config
    ? await classifierFromConfig(values.config)
    : { name: values.classifier ?? 'learned-classifier', options: values.options ? JSON.parse(values.options) : {}, baseDir: process.cwd(), gateway: { backends: [] } }
  let held: HeldOut[]
  let latencies: number[]
  let title = choice.name
  let extra: Record<string, unknown> = {}
  if (values.extra && !values.folds) throw new Error('--extra adds training rows: it needs --folds')
  if (values.folds) {
    if (choice.name !== 'learned-classifier') throw new Error('--folds trains models: only learned-classifier supports it')
    const k = Number(values.folds)
    const seed = Number(values.seed)
    const opts = (choice.options ?? {}) as { bias?: Partial<Record<(typeof TASK_CLASSES)[number], number>> }
    const start = Bun.nanoseconds()
    const featurize = createFeaturizer()
    const vectors = rows.map((r) => featurize(rowRequest(r)))
    latencies = rows.map((r) => {
      const t = Bun.nanoseconds()
      featurize(rowRequest(r))
      return (Bun.nanoseconds() - t) / 1000
    })
    const extraRows = (await readExtraRows(values.extra)).filter((r) => !values['exclude-nc'] || !isNonCommercial(r))
    const weightsPath = typeof (opts as { weights?: unknown }).weights === 'string' ? resolveWeightsPath((opts as { weights: string }).weights, choice.baseDir) : DEFAULT_WEIGHTS_PATH
    const temperature = temperatureOf(decodeModel(await Bun.file(weightsPath).json()))
    const input = {
      rows, vectors, train: { ...DEFAULT_TRAIN_OPTIONS, seed }, excludeNonCommercial: values['exclude-nc'], temperature,
      extra: extraRows.map((r) => ({ fv: featurize(rowRequest(r)), label: r.label })),
      bias: TASK_CLASSES.map((c) => opts.bias?.[c] ?? 0) as [number, number, number],
    }
    held = groupedCrossValidation(input, k, seed)
    const loso = computeReport(toPredictions(rows, leaveOneSourceOut(input)), latencies)
    const plus = extraRows.length > 0 ? ` (+${extraRows.length} extra training rows, not scored)` : ''
    title = `${choice.name} grouped ${k}-fold CV${values['exclude-nc'] ? ' (trained without NC rows)' : ''}${plus}`
    const elapsed = (Bun.nanoseconds() - start) / 1e9
    console.log(formatReport(`${choice.name} leave-one-source-out`, loso))
    console.log(`cross-validation took ${elapsed.toFixed(1)} s\n`)
    // Calibration of the held-out predictions: raw logits, and divided by the weights file's temperature.
    const labels = held.map((h) => rows[h.row]!.label)
    const ece = { raw: round4(logitsEce(held.map((h) => h.logits!), labels)), calibrated: round4(logitsEce(held.map((h) => h.logits!), labels, temperature)), temperature }
    console.log(`calibration, held out (10 bins): ECE ${ece.raw} raw, ${ece.calibrated} with the weights' temperature ${temperature}\n`)
    extra = { folds: k, extra_training_rows: extraRows.length, ece, leave_one_source_out: { accuracy: loso.accuracy, macro_f1: loso.macro_f1, per_source: loso.per_source } }
  } else {
    ;({ held, latencies } = await runClassifier(rows, choice))
  }
  const report: Report = computeReport(toPredictions(rows, held), latencies)
  console.log(formatReport(title, report))
  if (!values.folds) {
    const ece = round4(expectedCalibrationError(held.map((h) => h.confidence), held.map((h) => h.predicted === rows[h.row]!.label)))
    console.log(`ECE on this file (10 bins): ${ece}${choice.name === 'learned-classifier' ? ' (the shipped weights were trained on these rows: not a held-out figure)' : ''}\n`)
    extra = { ece }
  }
  if (published) {
    const shipped = await runClassifier(rows, choice)
    const fit = computeReport(toPredictions(rows, shipped.held), shipped.latencies)
    console.log(formatReport('learned-classifier shipped weights on their own training rows (latency; not a quality measure)', fit))
    extra = { ...extra, shipped: { accuracy: fit.accuracy, macro_f1: fit.macro_f1, latency_us: fit.latency_us } }
  }
  if (values.predictions) {
    const lines = held.map((h) => JSON.stringify({ id: rows[h.row]!.id, label: rows[h.row]!.label, predicted: h.predicted, confidence: Math.round(h.confidence * 1e4) / 1e4 }))
    await Bun.write(values.predictions, `${lines.join('\n')}\n`)
  }
  if (values.json) console.log(JSON.stringify({ classifier: choice.name, ...report, ...extra }))
}

if (import.meta.main) {
  main().catch((err: unknown) => {
    console.error(`eval: ${messageOf(err)}`)
    process.exit(1)
  })
}
