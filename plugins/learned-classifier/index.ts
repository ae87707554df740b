/** Learned classifier: hashed n-gram + feature logistic regression, pure TypeScript, weights shipped in the repo. */
import * as v from 'valibot'
import { definePlugin, TASK_CLASSES } from 'switchyard/plugin'
import type { Classification, RetrainInput, RetrainResult } from 'switchyard/plugin'
import { detectTask } from '../keyword-classifier/task.ts'
import { describeFeatures } from '../heuristic-classifier/index.ts'
import { SHIPPED_TRAINING_DATA } from './base-data.ts'
import { createFeaturizer } from './featurize.ts'
import { predict } from './predictor.ts'
import { createRetrainRunner } from './retrain-runner.ts'
import type { WorkerFault } from './retrain-runner.ts'
import { exportServed, loadServed, loadVersion, pointerFor, readPointer, readWeights, storeAdopted, storePromoted, storeRollback } from './versions.ts'
import shippedWeights from './weights.json' with { type: 'file' }

/** Where a weights option points: absolute, or relative to the config file's directory. */
export function resolveWeightsPath(path: string, baseDir: string): string {
  return path.startsWith('/') ? path : Bun.fileURLToPath(new URL(path, Bun.pathToFileURL(`${baseDir.replace(/\/$/, '')}/`)))
}

// A `file` import is the file's path from source and an embedded copy's path in the standalone binary (`npm run build`);
// TypeScript types a JSON import as its contents, hence the cast.
export const DEFAULT_WEIGHTS_PATH = shippedWeights as unknown as string

/** A retrain or rollback was asked for while one is running; the caller may try again when it has finished. */
export class RetrainBusyError extends Error {
  readonly code = 'retrain_in_progress'
  override readonly name = 'RetrainBusyError'
  constructor(running: string) {
    super(`learned-classifier: a ${running} is already running; try again when it has finished`)
  }
}

/** A test may name a fault for the retrain worker to die of (the core never sets it): test/plugins/learned-retrain-worker.test.ts. */
type TestRetrainInput = RetrainInput & { readonly workerFault?: WorkerFault }

export default definePlugin({
  name: 'learned-classifier',
  kind: 'classifier',
  options: v.strictObject({
    /** A weights file from `bun scripts/train.ts`; the shipped one when absent. */
    weights: v.optional(v.pipe(v.string(), v.minLength(1))),
    /** Added to the class logits: the quality/cost dial (`{ COMPLEX: -0.5 }` sends fewer prompts to the large model). */
    bias: v.optional(v.strictObject({
      SIMPLE: v.optional(v.number(), 0),
      MODERATE: v.optional(v.number(), 0),
      COMPLEX: v.optional(v.number(), 0),
    }), {}),
    /** The labelled JSONL files a retrain starts from (relative to the config file); the shipped training data when absent. */
    trainingData: v.optional(v.pipe(v.array(v.pipe(v.string(), v.minLength(1))), v.minLength(1))),
  }),
  setup: async ({ options, baseDir, stateDir, log, keep, signal }) => {
    const path = options.weights === undefined ? DEFAULT_WEIGHTS_PATH : resolveWeightsPath(options.weights, baseDir)
    const shipped = await readWeights(path, path === DEFAULT_WEIGHTS_PATH)
    const { model } = shipped
    let served = await loadServed(stateDir ?? baseDir, shipped, log)
    if (served !== shipped) log.info('learned-classifier: serving a promoted version', { version: served.version })
    const featurize = createFeaturizer(model.spec)
    const optionBias = TASK_CLASSES.map((c) => options.bias[c]) as [number, number, number]
    const biased = optionBias.some((b) => b !== 0)
    const biasReason = `bias ${TASK_CLASSES.filter((_, i) => optionBias[i] !== 0).map((c) => `${c} ${options.bias[c]}`).join(' ')}`

    const trainingData = options.trainingData?.map((p) => resolveWeightsPath(p, baseDir)) ?? SHIPPED_TRAINING_DATA
    const excludeNc = (model.meta.trainedOn as { excludedNonCommercial?: unknown } | undefined)?.excludedNonCommercial === true
    // One retrain worker per plugin name, kept across reloads with the featurized shipped rows it holds (the thousands
    // of rows every retrain trains on); it stops when no instance of this plugin uses it any more.
    const runner = keep('retrain-runner', () => createRetrainRunner(log))
    const release = runner.acquire()
    let running: string | undefined
    const exclusive = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
      if (running) throw new RetrainBusyError(running)
      running = what
      try {
        return await work()
      } finally {
        running = undefined
      }
    }

    return {
      classify(req): Classification {
        const fv = featurize(req)
        const now = served
        const p = predict(now, fv, optionBias)
        const learned = `learned p=${p.scores[p.label].toFixed(2)}`
        const reasons = p.memory
          ? [`correction memory: ${p.memory.count} similar correction${p.memory.count === 1 ? '' : 's'} (cos ${p.memory.cosine.toFixed(2)})`, learned]
          : [learned, ...describeFeatures(fv.features).slice(0, 3)]
        if (biased) reasons.push(biasReason)
        return {
          label: p.label, confidence: p.scores[p.label], scores: p.scores, reasons, task: detectTask(req),
          version: now.version, features: { index: fv.index, value: fv.value, dense: fv.dense },
        }
      },
      version: () => served.version,
      retrain: (input) => exclusive('retrain', async (): Promise<RetrainResult> => {
        const abort = AbortSignal.any([input.signal, signal])
        const pointer = await pointerFor(input.dir, shipped.base, log)
        const version = `v${pointer.next}`
        const current = served
        const task = { labelled: input.labelled, current, spec: model.spec, trainingData, excludeNonCommercial: excludeNc, bias: input.bias, optionBias, version }
        const outcome = await runner.run(task, abort, (input as TestRetrainInput).workerFault)
        const result = { before: outcome.before, after: outcome.after, reason: outcome.reason, candidate: outcome.trained ? version : undefined }
        if (!outcome.promoted || !outcome.candidate) return { promoted: false, version: current.version, ...result }
        abort.throwIfAborted()
        const stored = await storePromoted(input.dir, pointer, outcome.candidate, { promoted: true, ...result })
        served = stored.served
        log.info('learned-classifier: promoted a retrained version', { version, previous: current.version })
        return { promoted: true, version, ...result }
      }),
      rollback: (dir) => exclusive('rollback', async () => {
        const pointer = await readPointer(dir).catch((err: unknown) => {
          throw new Error(`learned-classifier: cannot roll back: the version pointer is unreadable: ${(err as Error).message}`)
        })
        if (!pointer || pointer.base !== shipped.base || pointer.history.length < 2) {
          throw new Error(`learned-classifier: no earlier version to roll back to (serving ${served.version})`)
        }
        const target = pointer.history.at(-2)!
        const previous = target === shipped.base ? shipped : await loadVersion(dir, target, shipped)
        const done = await storeRollback(dir, pointer)
        served = previous
        log.info('learned-classifier: rolled back', { version: done.version, previous: done.previous })
        return { version: done.version, previous: done.previous }
      }),
      exportVersion: (dir) => exportServed(dir, served, shipped),
      adoptVersion: (dir, version, payload) => exclusive('adopt', async () => {
        if (served.version === version) return false
        const adopted = await storeAdopted(dir, await pointerFor(dir, shipped.base, log), version, payload, shipped)
        if (!adopted) {
          log.warn('learned-classifier: ignored a version from another instance (other weights)', { version })
          return false
        }
        const previous = served.version
        served = adopted
        log.info('learned-classifier: serving a version another instance promoted', { version, previous })
        return true
      }),
      close: release,
    }
  },
})
