/** The simulator's model of answer quality: a prompt's difficulty, a model's chance of a bad answer, and the verdict for one pair. */
import { composeAnswer, type Answer } from './answer-text.ts'
import { drawIndex, drawUnit } from './draws.ts'
import { parseBillions } from './models.ts'
import { readPromptTraits, type PromptTraits } from './prompt-traits.ts'

export const FAILURE_KINDS = ['empty', 'truncated', 'refusal', 'broken-code', 'loop'] as const
export type FailureKind = (typeof FAILURE_KINDS)[number]

export interface QualityVerdict {
  readonly good: boolean
  /** Set when `good` is false. */
  readonly kind?: FailureKind
  readonly pBad: number
  readonly difficulty: number
}

/** Words that signal hard work; each distinct one found counts once. */
const HARD_WORDS = [
  /\bdesign\w*/, /\barchitect\w*/, /\bconcurren\w*/, /\bdistributed\b/, /\boptimi[sz]\w*/, /\brefactor\w*/,
  /\bdebug\w*/, /\bprove\b|\bproof\b/, /\bthread[- ]safe\w*/, /\bscal(?:able|ability|e out)\b/, /\bfault[- ]toleran\w*/,
  /\bconsisten(?:t|cy)\b/, /\block[- ]free\b/, /\brace conditions?\b/, /\bdeadlock\w*/, /\bconsensus\b|\braft\b|\bpaxos\b/,
  /\bmigrat\w*/, /\bsecur\w*/, /\bperformance\b|\blatency\b/, /\bcompiler\b|\binterpreter\b/,
  /\b(?:full|complete|entire|comprehensive|production[- ]ready)\b/,
]
/** Words that signal a small, mechanical edit; they pull the difficulty down. */
const EASY_WORDS = /\b(?:docstrings?|comments?|rename|typos?|spelling|indent\w*|hello world|one[- ]liner|simple|trivial|quick)\b/g

/** Each term is in [0, 1]; the difficulty is their weighted sum, clamped to [0, 1]. Documented in docs/simulator.md. */
export const DIFFICULTY_WEIGHTS = {
  length: 0.2,
  requirements: 0.25,
  hardWords: 0.3,
  code: 0.1,
  multiPart: 0.15,
  easyWords: -0.2,
} as const

export type DifficultyTerms = { readonly [K in keyof typeof DIFFICULTY_WEIGHTS]: number }

const clamp01 = (x: number) => Math.min(1, Math.max(0, x))

export function difficultyTerms(traits: PromptTraits): DifficultyTerms {
  const lower = traits.text.toLowerCase()
  return {
    length: clamp01(Math.log1p(traits.words) / Math.log1p(400)),
    requirements: clamp01((traits.sentences + traits.joins - 1) / 6),
    hardWords: clamp01(HARD_WORDS.filter((word) => word.test(lower)).length / 2),
    code: clamp01(traits.codeLines / 40),
    multiPart: clamp01(traits.parts / 4),
    easyWords: clamp01((lower.match(EASY_WORDS)?.length ?? 0) / 2),
  }
}

function difficultyFrom(traits: PromptTraits): number {
  const terms = difficultyTerms(traits)
  let sum = 0
  for (const key of Object.keys(DIFFICULTY_WEIGHTS) as (keyof typeof DIFFICULTY_WEIGHTS)[]) sum += DIFFICULTY_WEIGHTS[key] * terms[key]
  return clamp01(sum)
}

/** How hard `prompt` is, in [0, 1]: a fixed formula over its text (no trained weights, no labels). */
export function difficultyOf(prompt: string): number {
  return difficultyFrom(readPromptTraits(prompt))
}

/** pBad = sigmoid(A·difficulty − B·ln(billions) + C). Documented, with what they give per size, in docs/simulator.md. */
export const P_BAD = { A: 5, B: 0.8, C: -3.4 } as const

/** The probability that a model of `billions` parameters answers a prompt of `difficulty` badly. */
export function pBad(difficulty: number, billions: number): number {
  const size = Math.log(Math.max(billions, 0.01))
  return 1 / (1 + Math.exp(-(P_BAD.A * clamp01(difficulty) - P_BAD.B * size + P_BAD.C)))
}

/**
 * Whether `model` answers `prompt` well. The draw depends on the prompt only, so a prompt bad on a big
 * model is bad on every smaller one; the failure kind depends on model and prompt.
 */
export function judgeQuality(model: string, prompt: string): QualityVerdict {
  return verdictFor(model, prompt, readPromptTraits(prompt))
}

function verdictFor(model: string, prompt: string, traits: PromptTraits): QualityVerdict {
  const difficulty = difficultyFrom(traits)
  const p = pBad(difficulty, parseBillions(model))
  if (drawUnit(`quality\n${prompt}`) >= p) return { good: true, pBad: p, difficulty }
  const kinds = FAILURE_KINDS.filter((kind) => kind !== 'broken-code' || traits.asksCode)
  const kind = kinds[drawIndex(`failure\n${model}\n${prompt}`, kinds.length)] ?? 'empty'
  return { good: false, kind, pBad: p, difficulty }
}

/** The answer `model` gives `prompt` under the quality model, with its verdict. */
export function qualityAnswer(model: string, prompt: string): Answer & { readonly verdict: QualityVerdict } {
  const traits = readPromptTraits(prompt)
  const verdict = verdictFor(model, prompt, traits)
  return { ...composeAnswer(model, traits, verdict.kind), verdict }
}
