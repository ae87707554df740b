/** heuristic-auditor: fast, synchronous checks of a draft answer (empty, cut off, refusal, loop, broken code, fit). */
import * as v from 'valibot'
import { definePlugin, lastUserText } from 'switchyard/plugin'
import type { AuditResult } from 'switchyard/plugin'
import { findBrokenCode, findTruncated, isJsonDocument } from './answer-checks.ts'
import { createSyntaxChecker } from './code-syntax.ts'
import { splitFences } from './fences.ts'
import { findRefusal } from './refusal.ts'
import { findRepetition } from './repetition.ts'
import { combine, DEFAULT_WEIGHTS, type Finding } from './score.ts'
import { findTooShort, findWrongLanguage } from './task-fit.ts'

const Weight = v.pipe(v.number(), v.minValue(0), v.maxValue(1))
const Share = v.pipe(v.number(), v.minValue(0), v.maxValue(1))
const Count = v.pipe(v.number(), v.integer(), v.minValue(1))

export default definePlugin({
  name: 'heuristic-auditor',
  kind: 'auditor',
  options: v.strictObject({
    /** How much each check lowers the score (0 turns it off); unset ones keep their defaults. */
    weights: v.optional(v.strictObject({
      empty: v.optional(Weight), truncated: v.optional(Weight), refusal: v.optional(Weight), repetition: v.optional(Weight),
      brokenCode: v.optional(Weight), tooShort: v.optional(Weight), wrongLanguage: v.optional(Weight),
    }), {}),
    /** Words per n-gram for the repetition check. */
    ngram: v.optional(v.pipe(Count, v.maxValue(12)), 4),
    /** Share of repeated n-grams above which the answer loops. */
    maxRepeatedShare: v.optional(Share, 0.5),
    /** Times one sentence may be said, or one phrase or code line repeated in a row, before it is a loop. */
    maxRepeats: v.optional(v.pipe(Count, v.minValue(2)), 5),
    /** Share of the sentences that must refuse or deflect for a refusal to count (answers with code never do). */
    refusalShare: v.optional(Share, 0.5),
    /** An answer to a "full program" / "step by step" task is too short below both of these. */
    minLines: v.optional(Count, 3),
    minWords: v.optional(Count, 40),
  }),
  setup: ({ options }) => {
    const weights = { ...DEFAULT_WEIGHTS, ...options.weights }
    const checkSyntax = createSyntaxChecker()
    const repetition = { ngram: options.ngram, maxRepeatedShare: options.maxRepeatedShare, maxRepeats: options.maxRepeats }
    const length = { minLines: options.minLines, minWords: options.minWords }

    return {
      audit(request, answer): AuditResult {
        if (answer.text.trim() === '') return combine([{ check: 'empty', reasons: ['empty answer'] }], weights)
        const task = lastUserText(request)
        const { blocks, prose } = splitFences(answer.text)
        const cut = answer.finishReason === 'length'
        const atClientLimit = cut && answer.clientLimit !== undefined
        const findings: Finding[] = [
          { check: 'truncated', reasons: findTruncated(answer) },
          { check: 'refusal', reasons: findRefusal(prose, blocks.length, options.refusalShare) },
          { check: 'repetition', reasons: isJsonDocument(answer.text) ? [] : findRepetition(answer.text, prose, blocks, repetition) },
          { check: 'brokenCode', reasons: findBrokenCode(blocks, cut, checkSyntax) },
          { check: 'tooShort', reasons: atClientLimit ? [] : findTooShort(task, answer.text, blocks, length) },
          { check: 'wrongLanguage', reasons: findWrongLanguage(task, blocks) },
        ]
        return combine(findings, weights)
      },
    }
  },
})
