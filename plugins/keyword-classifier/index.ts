/** Keyword classifier: the classic rules (words or /regex/ per class), the baseline every other classifier beats. */
import * as v from 'valibot'
import { classRank, definePlugin, lastUserIndex, TASK_CLASSES } from 'switchyard/plugin'
import type { ChatRequest, Classification, TaskClass } from 'switchyard/plugin'
import { detectTask } from './task.ts'

const DEFAULT_RULES = {
  SIMPLE: ['docstring', 'docstrings', 'comment', 'comments', 'explain', 'format', 'rename', 'typo', 'what is', 'what does'],
  MODERATE: ['implement', 'write', 'function', 'create', 'script', 'convert', 'parse'],
  COMPLEX: ['refactor', 'architecture', 'optimize', 'optimise', 'debug', 'design', 'scalable', 'distributed', 'concurrency'],
} as const

const ruleList = (fallback: readonly string[]) => v.optional(v.array(v.pipe(v.string(), v.minLength(1))), [...fallback])
const weight = (fallback: number) => v.optional(v.pipe(v.number(), v.minValue(0)), fallback)

/** A compiled rule: the pattern and the text shown in reasons. */
interface Rule {
  readonly pattern: RegExp
  readonly shown: string
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** `/body/flags` is a regex; anything else is a word or phrase matched on word boundaries, case-folded. */
export function compileRule(rule: string): Rule {
  const m = /^\/(.+)\/([a-z]*)$/s.exec(rule)
  if (m) {
    const flags = new Set((m[2] ?? '').split(''))
    flags.add('g')
    return { pattern: new RegExp(m[1] ?? '', [...flags].join('')), shown: rule }
  }
  const body = escapeRegExp(rule.trim().toLowerCase()).replace(/\s+/g, '\\s+')
  return { pattern: new RegExp(`(?<![\\w-])${body}(?![\\w-])`, 'gi'), shown: rule }
}

const FENCED = /```[\s\S]*?(?:```|$)/g

/** Text the rules read: prose only (code is not instructions), last user message at full weight, the rest at half. */
function weightedTexts(req: ChatRequest): { text: string; weight: number }[] {
  const lastUser = lastUserIndex(req)
  return req.messages
    .map((m, i) => ({ text: m.content.replace(FENCED, ' '), weight: i === lastUser || lastUser < 0 ? 1 : 0.5 }))
    .filter((t) => t.text.trim() !== '')
}

export default definePlugin({
  name: 'keyword-classifier',
  kind: 'classifier',
  options: v.strictObject({
    rules: v.optional(
      v.strictObject({
        SIMPLE: ruleList(DEFAULT_RULES.SIMPLE),
        MODERATE: ruleList(DEFAULT_RULES.MODERATE),
        COMPLEX: ruleList(DEFAULT_RULES.COMPLEX),
      }),
      {},
    ),
    // Generic verbs ("write", "function") are weaker evidence than specific ones ("docstring", "refactor").
    weights: v.optional(v.strictObject({ SIMPLE: weight(1), MODERATE: weight(0.8), COMPLEX: weight(1) }), {}),
    default: v.optional(v.picklist(TASK_CLASSES), 'MODERATE'),
  }),
  setup: ({ options }) => {
    const compiled = TASK_CLASSES.map((label) => ({
      label,
      weight: options.weights[label],
      rules: options.rules[label].map(compileRule),
    }))

    return {
      classify(req): Classification {
        const raw: Record<TaskClass, number> = { SIMPLE: 0, MODERATE: 0, COMPLEX: 0 }
        const hits: { score: number; reason: string }[] = []
        const texts = weightedTexts(req)
        for (const { label, weight: w, rules } of compiled) {
          for (const rule of rules) {
            let count = 0
            for (const t of texts) {
              rule.pattern.lastIndex = 0
              const n = t.text.match(rule.pattern)?.length ?? 0
              count += n * t.weight
            }
            if (count > 0) {
              raw[label] += count * w
              hits.push({ score: count * w, reason: `${label.toLowerCase()} keyword '${rule.shown}'` })
            }
          }
        }
        const task = detectTask(req)
        hits.sort((a, b) => b.score - a.score)
        const reasons = hits.slice(0, 4).map((h) => h.reason)
        const total = raw.SIMPLE + raw.MODERATE + raw.COMPLEX
        if (total === 0) {
          const scores = { SIMPLE: 0.25, MODERATE: 0.25, COMPLEX: 0.25, [options.default]: 0.5 }
          return { label: options.default, confidence: 0.5, scores, reasons: ['no keyword matched'], ...(task && { task }) }
        }
        // Ties go to the more capable class: under-serving a prompt costs more than over-serving it.
        let label: TaskClass = 'SIMPLE'
        for (const c of TASK_CLASSES) if (raw[c] > raw[label] || (raw[c] === raw[label] && classRank(c) > classRank(label))) label = c
        // Add-one smoothing keeps a single hit from claiming certainty.
        const scores = {
          SIMPLE: (raw.SIMPLE + 0.5) / (total + 1.5),
          MODERATE: (raw.MODERATE + 0.5) / (total + 1.5),
          COMPLEX: (raw.COMPLEX + 0.5) / (total + 1.5),
        }
        return { label, confidence: scores[label], scores, reasons, ...(task && { task }) }
      },
    }
  },
})
