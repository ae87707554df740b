/** Training CLI: fit the learned classifier on labelled JSONL and write a weights file (reproducible with --seed). */
import { parseArgs } from 'node:util'
import { TASK_CLASSES } from 'switchyard/plugin'
import { extraPaths, isNonCommercial, readExtraRows, readRows, rowRequest } from '../plugins/learned-classifier/dataset.ts'
import { createFeaturizer, DEFAULT_FEATURE_SPEC } from '../plugins/learned-classifier/featurize.ts'
import { encodeModel } from '../plugins/learned-classifier/model.ts'
import { DEFAULT_TRAIN_OPTIONS, trainModel } from '../plugins/learned-classifier/train.ts'
import { messageOf } from '../src/errors.ts'

const USAGE = `usage: bun scripts/train.ts --data FILE.jsonl --out FILE.json [--extra FILE.jsonl]... [--seed N] [--epochs N] [--bits N] [--exclude-nc]
  --extra FILE   more rows appended to the training data (repeatable or comma-separated), e.g. the coverage-gap supplement
  --exclude-nc   leave out rows whose license is non-commercial (CC-BY-NC-*), extra rows included
  cross-validation: bun scripts/eval.ts --data FILE.jsonl --classifier learned-classifier --folds 5`

async function main() {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' }, out: { type: 'string' }, extra: { type: 'string', multiple: true }, seed: { type: 'string', default: '1' },
      epochs: { type: 'string' }, bits: { type: 'string' }, 'exclude-nc': { type: 'boolean', default: false },
      help: { type: 'boolean' },
    },
  })
  if (values.help || !values.data || !values.out) {
    console.log(USAGE)
    process.exit(values.help ? 0 : 2)
  }
  const all = [...(await readRows(values.data)), ...(await readExtraRows(values.extra))]
  const rows = values['exclude-nc'] ? all.filter((r) => !isNonCommercial(r)) : all
  const spec = { ...DEFAULT_FEATURE_SPEC, ...(values.bits && { bits: Number(values.bits) }) }
  const seed = Number(values.seed)
  const epochs = values.epochs ? Number(values.epochs) : DEFAULT_TRAIN_OPTIONS.epochs
  const start = Bun.nanoseconds()
  const featurize = createFeaturizer(spec)
  const examples = rows.map((r) => ({ fv: featurize(rowRequest(r)), label: r.label }))
  const sources = [...new Set(rows.map((r) => r.source))].sort()
  const model = trainModel(examples, {
    seed, epochs, spec,
    meta: {
      trainedOn: {
        rows: rows.length, excludedNonCommercial: values['exclude-nc'], sources,
        extra: extraPaths(values.extra).map((f) => f.split('/').at(-1)), licenses: [...new Set(rows.map((r) => r.license))].sort(),
      },
      perClass: Object.fromEntries(TASK_CLASSES.map((c) => [c, rows.filter((r) => r.label === c).length])),
      seed, epochs,
    },
  })
  const file = encodeModel(model)
  await Bun.write(values.out, `${JSON.stringify(file)}\n`)
  const kb = (await Bun.file(values.out).size) / 1024
  console.log(`trained on ${rows.length} rows (${sources.length} sources) in ${((Bun.nanoseconds() - start) / 1e9).toFixed(1)} s -> ${values.out} (${kb.toFixed(0)} KB)`)
}

if (import.meta.main) {
  main().catch((err: unknown) => {
    console.error(`train: ${messageOf(err)}`)
    process.exit(1)
  })
}
