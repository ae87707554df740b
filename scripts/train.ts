/** Training CLI: fit the learned classifier on labelled JSONL (or a decision history's corrections) and write the result. */
import { parseArgs } from 'node:util'
import { TASK_CLASSES } from 'switchyard/plugin'
import { crossValidatedTemperature } from '../plugins/learned-classifier/cross-validate.ts'
import { extraPaths, isNonCommercial, readExtraRows, readRows, rowRequest } from '../plugins/learned-classifier/dataset.ts'
import { createFeaturizer, DEFAULT_FEATURE_SPEC } from '../plugins/learned-classifier/featurize.ts'
import { encodeModel } from '../plugins/learned-classifier/model.ts'
import { DEFAULT_TRAIN_OPTIONS, trainModel } from '../plugins/learned-classifier/train.ts'
import { messageOf } from '../src/errors.ts'
import { trainFromHistory } from './train-history.ts'

export const DEFAULT_DATA = 'data/routing-dev.jsonl'
export const SUPPLEMENT = 'plugins/learned-classifier/supplement.jsonl'
/** Multi-turn conversations (scripts/make-multiturn.ts, train templates): what the conversation features learn from. */
export const MULTITURN = 'plugins/learned-classifier/multiturn.jsonl'
const SHIPPED_OUT = 'plugins/learned-classifier/weights.json'
const SHIPPED_OUT_NO_NC = 'plugins/learned-classifier/weights-no-nc.json'
const CALIBRATION_FOLDS = 5

const USAGE = `usage: bun scripts/train.ts [--data FILE.jsonl --out FILE.json] [--extra FILE.jsonl]... [--seed N] [--epochs N] [--bits N] [--exclude-nc] [--no-calibrate]
       bun scripts/train.ts --history FILE.db [--out FILE.json] [--weights FILE.json] [--bias-min N] [--bias-max N]
  no --data      train the shipped weights: --data ${DEFAULT_DATA} --extra ${SUPPLEMENT},${MULTITURN}
                 --out ${SHIPPED_OUT} (${SHIPPED_OUT_NO_NC} with --exclude-nc); reproduces them byte for byte
  --extra FILE   more rows appended to the training data (repeatable or comma-separated), e.g. the coverage-gap supplement
  --exclude-nc   leave out rows whose license is non-commercial (CC-BY-NC-*), extra rows included
  --no-calibrate skip the temperature fit (grouped ${CALIBRATION_FOLDS}-fold CV on --data, --extra in every training fold)
  --history FILE retrain from a decision history's corrections as the gateway's retrain would, print the figures,
                 write the candidate (a version file, as the gateway stores one) to --out when given
  cross-validation: bun scripts/eval.ts --folds 5`

async function main() {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' }, out: { type: 'string' }, extra: { type: 'string', multiple: true }, seed: { type: 'string', default: '1' },
      epochs: { type: 'string' }, bits: { type: 'string' }, 'exclude-nc': { type: 'boolean', default: false },
      'no-calibrate': { type: 'boolean', default: false }, history: { type: 'string' }, weights: { type: 'string' },
      'bias-min': { type: 'string', default: '-1' }, 'bias-max': { type: 'string', default: '1' }, help: { type: 'boolean' },
    },
  })
  if (values.help || (values.data && !values.out && !values.history)) {
    console.log(USAGE)
    process.exit(values.help ? 0 : 2)
  }
  if (values.history) {
    await trainFromHistory({ history: values.history, out: values.out, weights: values.weights, bias: { min: Number(values['bias-min']), max: Number(values['bias-max']) } })
    return
  }
  const shipped = values.data === undefined
  const dataPath = values.data ?? DEFAULT_DATA
  const extra = values.extra ?? (shipped ? [SUPPLEMENT, MULTITURN] : [])
  const out = values.out ?? (values['exclude-nc'] ? SHIPPED_OUT_NO_NC : SHIPPED_OUT)
  const dataRows = await readRows(dataPath)
  const extraRows = await readExtraRows(extra)
  const keep = (r: { license: string }) => !values['exclude-nc'] || !isNonCommercial(r)
  const rows = [...dataRows, ...extraRows].filter(keep)
  const spec = { ...DEFAULT_FEATURE_SPEC, ...(values.bits && { bits: Number(values.bits) }) }
  const seed = Number(values.seed)
  const epochs = values.epochs ? Number(values.epochs) : DEFAULT_TRAIN_OPTIONS.epochs
  const start = Bun.nanoseconds()
  const featurize = createFeaturizer(spec)
  const examples = rows.map((r) => ({ fv: featurize(rowRequest(r)), label: r.label }))
  const sources = [...new Set(rows.map((r) => r.source))].sort()
  // The temperature divides the logits so the scores mean what they say: fitted on held-out predictions, never on fits.
  const calibration = values['no-calibrate'] ? undefined : crossValidatedTemperature({
    rows: dataRows, vectors: dataRows.map((r) => featurize(rowRequest(r))), train: { seed, epochs, spec }, bias: [0, 0, 0],
    excludeNonCommercial: values['exclude-nc'], extra: extraRows.filter(keep).map((r) => ({ fv: featurize(rowRequest(r)), label: r.label })),
  }, CALIBRATION_FOLDS, seed)
  const model = trainModel(examples, {
    seed, epochs, spec,
    meta: {
      trainedOn: {
        rows: rows.length, excludedNonCommercial: values['exclude-nc'], sources,
        extra: extraPaths(extra).map((f) => f.split('/').at(-1)), licenses: [...new Set(rows.map((r) => r.license))].sort(),
      },
      perClass: Object.fromEntries(TASK_CLASSES.map((c) => [c, rows.filter((r) => r.label === c).length])),
      seed, epochs,
      ...(calibration && {
        temperature: calibration.temperature,
        calibration: { method: `grouped ${CALIBRATION_FOLDS}-fold CV, minimum NLL`, eceHeldOut: calibration.eceRaw, eceHeldOutCalibrated: calibration.eceCrossFitted },
      }),
    },
  })
  await Bun.write(out, `${JSON.stringify(encodeModel(model))}\n`)
  const kb = (await Bun.file(out).size) / 1024
  const calibrated = calibration ? `; temperature ${calibration.temperature} (held-out ECE ${calibration.eceRaw} -> ${calibration.eceCrossFitted})` : ''
  console.log(`trained on ${rows.length} rows (${sources.length} sources) in ${((Bun.nanoseconds() - start) / 1e9).toFixed(1)} s -> ${out} (${kb.toFixed(0)} KB)${calibrated}`)
}

if (import.meta.main) {
  main().catch((err: unknown) => {
    console.error(`train: ${messageOf(err)}`)
    process.exit(1)
  })
}
