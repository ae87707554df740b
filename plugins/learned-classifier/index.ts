/** Learned classifier: hashed n-gram + feature logistic regression, pure TypeScript, weights shipped in the repo. */
import * as v from 'valibot'
import { definePlugin, TASK_CLASSES } from 'switchyard/plugin'
import type { Classification } from 'switchyard/plugin'
import { detectTask } from '../keyword-classifier/task.ts'
import { argmaxClass, describeFeatures, softmaxScores } from '../heuristic-classifier/index.ts'
import { createFeaturizer } from './featurize.ts'
import { decodeModel, modelLogits } from './model.ts'

/** Where a weights option points: absolute, or relative to the config file's directory. */
export function resolveWeightsPath(path: string, baseDir: string): string {
  return path.startsWith('/') ? path : Bun.fileURLToPath(new URL(path, Bun.pathToFileURL(`${baseDir.replace(/\/$/, '')}/`)))
}

export const DEFAULT_WEIGHTS_PATH = `${import.meta.dir}/weights.json`

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
  }),
  setup: async ({ options, baseDir }) => {
    const path = options.weights === undefined ? DEFAULT_WEIGHTS_PATH : resolveWeightsPath(options.weights, baseDir)
    let json: unknown
    try {
      json = await Bun.file(path).json()
    } catch (cause) {
      throw new Error(`learned-classifier: cannot read weights file ${path}`, { cause })
    }
    let model
    try {
      model = decodeModel(json)
    } catch (cause) {
      throw new Error(`learned-classifier: ${path} is not a weights file: ${(cause as Error).message}`, { cause })
    }
    const featurize = createFeaturizer(model.spec)
    const bias = TASK_CLASSES.map((c) => options.bias[c])
    const biased = bias.some((b) => b !== 0)
    const biasReason = `bias ${TASK_CLASSES.filter((_, i) => bias[i] !== 0).map((c) => `${c} ${options.bias[c]}`).join(' ')}`
    return {
      classify(req): Classification {
        const fv = featurize(req)
        const [s, m, c] = modelLogits(model, fv)
        const scores = softmaxScores({ SIMPLE: s + bias[0]!, MODERATE: m + bias[1]!, COMPLEX: c + bias[2]! })
        const label = argmaxClass(scores)
        const reasons = [`learned p=${scores[label].toFixed(2)}`, ...describeFeatures(fv.features).slice(0, 3)]
        if (biased) reasons.push(biasReason)
        return { label, confidence: scores[label], scores, reasons, task: detectTask(req) }
      },
    }
  },
})
