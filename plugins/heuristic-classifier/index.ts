/** Heuristic classifier: hand-weighted request features (size, code, structure, constraints) turned into class scores. */
import * as v from 'valibot'
import { definePlugin } from 'switchyard/plugin'
import type { Classification, TaskClass } from 'switchyard/plugin'
import { detectTask } from '../keyword-classifier/task.ts'
import { extractFeatures } from './features.ts'
import type { RequestFeatures } from './features.ts'

const tokens = (fallback: number) => v.optional(v.pipe(v.number(), v.minValue(1)), fallback)

/** Softmax over three logits, as class scores. */
export function softmaxScores(logits: Readonly<Record<TaskClass, number>>): Record<TaskClass, number> {
  const max = Math.max(logits.SIMPLE, logits.MODERATE, logits.COMPLEX)
  const s = Math.exp(logits.SIMPLE - max)
  const m = Math.exp(logits.MODERATE - max)
  const c = Math.exp(logits.COMPLEX - max)
  const z = s + m + c
  return { SIMPLE: s / z, MODERATE: m / z, COMPLEX: c / z }
}

export const argmaxClass = (scores: Readonly<Record<TaskClass, number>>): TaskClass =>
  scores.COMPLEX >= scores.MODERATE && scores.COMPLEX >= scores.SIMPLE ? 'COMPLEX' : scores.MODERATE >= scores.SIMPLE ? 'MODERATE' : 'SIMPLE'

/** Short reasons for the features that moved the decision, most telling first. */
export function describeFeatures(f: RequestFeatures): string[] {
  const out = [`${f.tokens} tokens`]
  if (f.codeBlocks > 0) out.push(`${f.codeBlocks} code block${f.codeBlocks === 1 ? '' : 's'}`)
  if (f.functions > 0) out.push(`${f.functions} function${f.functions === 1 ? '' : 's'}`)
  if (f.classes > 0) out.push(`${f.classes} class${f.classes === 1 ? '' : 'es'}`)
  if (f.files > 0) out.push(`${f.files} file${f.files === 1 ? '' : 's'} referenced`)
  if (f.constraints > 0) out.push(`${f.constraints} constraint${f.constraints === 1 ? '' : 's'}`)
  if (f.depth > 0) out.push(`conversation depth ${f.depth}`)
  if (f.question) out.push('question form')
  return out.slice(0, 5)
}

export default definePlugin({
  name: 'heuristic-classifier',
  kind: 'classifier',
  options: v.strictObject({
    /** Around this many prompt tokens a prompt stops looking SIMPLE. */
    simpleTokens: tokens(32),
    /** Around this many prompt tokens a prompt starts looking COMPLEX. */
    complexTokens: tokens(160),
    /** Added to the class logits: negative values send fewer prompts to that class. */
    bias: v.optional(v.strictObject({
      SIMPLE: v.optional(v.number(), 0),
      MODERATE: v.optional(v.number(), 0),
      COMPLEX: v.optional(v.number(), 0),
    }), {}),
  }),
  setup: ({ options }) => {
    const simpleAt = Math.log2(options.simpleTokens)
    const complexAt = Math.log2(options.complexTokens)
    return {
      classify(req): Classification {
        const f = extractFeatures(req)
        // The prompt's own size matters most; earlier turns add context, not difficulty, so they count a little.
        const t = Math.log2(f.promptTokens + 1) + 0.15 * Math.log2(1 + f.tokens - f.promptTokens)
        const structure = f.classes * 1.2 + Math.max(0, f.functions - 2) * 0.4 + Math.min(f.files, 4) * 0.3
        const logits = {
          SIMPLE: 1.6 * (simpleAt + 0.5 - t) + (f.question ? 0.6 : 0) - 0.6 * f.functions - structure - 0.4 * f.constraints
            + options.bias.SIMPLE,
          MODERATE: options.bias.MODERATE,
          COMPLEX: 1.4 * (t - complexAt) + structure + 0.35 * Math.min(f.constraints, 4) + 0.3 * Math.max(0, f.codeBlocks - 1)
            + 0.25 * Math.min(f.depth, 6) + 0.15 * Math.min(f.bullets, 6) + options.bias.COMPLEX,
        }
        const scores = softmaxScores(logits)
        const label = argmaxClass(scores)
        return { label, confidence: scores[label], scores, reasons: describeFeatures(f), task: detectTask(req) }
      },
    }
  },
})
