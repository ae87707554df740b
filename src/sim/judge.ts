/** The simulated judge: remembers which answers the simulator gave were good, and scores rubric prompts about them with a size-dependent error rate. */
import { drawIndex, drawUnit } from './draws.ts'
import { hashText } from './generate.ts'
import type { FailureKind } from './quality.ts'

/** How many answers the judge remembers; the oldest are forgotten first. */
export const ANSWER_MEMORY_SIZE = 10_000

export interface AnswerRecord {
  readonly good: boolean
  readonly kind?: FailureKind
}

export interface AnswerMemory {
  remember(text: string, record: AnswerRecord): void
  /** By the trimmed text, or for a clipped one (head, `[... N characters left out ...]`, tail) by its ends and length. */
  recall(text: string): AnswerRecord | undefined
}

/** Two 32-bit hashes of the trimmed text: one alone would collide now and then among 10,000 answers. */
function answerKey(text: string): string {
  const trimmed = text.trim()
  return `${hashText(trimmed).toString(36)}.${hashText(trimmed, 0x2545f491).toString(36)}`
}

/** What survives the llm-auditor's clipping of a long answer (its first and last characters) and its length. */
const OUTLINE_CHARS = 64
const outlineKey = (head: string, tail: string, length: number) =>
  `${hashText(`${head.slice(0, OUTLINE_CHARS)}\n${tail.slice(-OUTLINE_CHARS)}`).toString(36)}:${length}`
const CLIPPED = /^([\s\S]*)\n\[\.\.\. (\d+) characters left out \.\.\.\]\n([\s\S]*)$/

/** A map that forgets its oldest entry beyond `capacity`. */
function createBoundedMap<V>(capacity: number) {
  const entries = new Map<string, V>()
  return {
    set(key: string, value: V) {
      entries.delete(key)
      entries.set(key, value)
      if (entries.size > capacity) {
        const oldest = entries.keys().next()
        if (!oldest.done) entries.delete(oldest.value)
      }
    },
    get: (key: string) => entries.get(key),
  }
}

export function createAnswerMemory(capacity = ANSWER_MEMORY_SIZE): AnswerMemory {
  const byText = createBoundedMap<AnswerRecord>(capacity)
  const byOutline = createBoundedMap<AnswerRecord>(capacity)
  return {
    remember(text, record) {
      byText.set(answerKey(text), record)
      byOutline.set(outlineKey(text, text, text.length), record)
    },
    recall(text) {
      const exact = byText.get(answerKey(text))
      if (exact) return exact
      const clipped = CLIPPED.exec(text)
      if (!clipped) return undefined
      const [, head = '', left = '0', tail = ''] = clipped
      return byOutline.get(outlineKey(head, tail, head.length + Number(left) + tail.length))
    },
  }
}

/**
 * The answer inside `<answer>` … `</answer>` of a rubric prompt, without the one newline after the opening
 * tag and before the closing one; undefined when there is none.
 */
export function rubricAnswer(prompt: string): string | undefined {
  const open = prompt.indexOf('<answer>')
  const close = prompt.lastIndexOf('</answer>')
  if (open < 0 || close < open) return undefined
  return prompt.slice(open + '<answer>'.length, close).replace(/^\n/, '').replace(/\n$/, '')
}

/** The chance the judge gets an answer wrong: 0.3/√billions, at most one half (≈25% at 1.5B, 11% at 7B, 5% at 33B). */
export function judgeErrorRate(billions: number): number {
  return Math.min(0.5, 0.3 / Math.sqrt(Math.max(billions, 0.01)))
}

export interface JudgeReply {
  readonly text: string
  /** Whether the score agrees with what the simulator knows; 'unknown' for an answer it never gave. */
  readonly outcome: 'right' | 'wrong' | 'unknown'
}

const GOOD_REASONS = [
  'The answer addresses the task and looks correct.',
  'Complete and on topic; the code looks right.',
  'Covers what was asked, with no obvious mistakes.',
] as const
const BAD_REASONS: Readonly<Record<FailureKind, string>> = {
  empty: 'The answer is empty.',
  truncated: 'The answer stops in the middle of a sentence.',
  refusal: 'The answer refuses the task instead of doing it.',
  'broken-code': 'The code in the answer does not parse.',
  loop: 'The answer repeats itself instead of finishing.',
}
const MISTAKEN_BAD_REASON = 'The answer misses part of the task.'

/**
 * `SCORE: N` and a one-line reason for the rubric prompt `rubric` holding `answer`: 7..10 when the judge thinks
 * the answer good, 0..3 when it thinks it bad. Its draws hash the whole rubric prompt (task and answer) and the
 * judge model: identical answers to different tasks (every empty one, a stock refusal) are separate judgements.
 */
export function judgeAnswer(memory: AnswerMemory, judgeModel: string, billions: number, rubric: string, answer: string): JudgeReply {
  const record = memory.recall(answer)
  if (!record) return { text: 'SCORE: 6\nunknown answer', outcome: 'unknown' }
  const seed = `${rubric}\n${judgeModel}`
  const right = drawUnit(`judge\n${seed}`) >= judgeErrorRate(billions)
  const thinksGood = right ? record.good : !record.good
  const score = thinksGood ? 7 + drawIndex(`score\n${seed}`, 4) : drawIndex(`score\n${seed}`, 4)
  const reason = thinksGood
    ? (GOOD_REASONS[drawIndex(`reason\n${seed}`, GOOD_REASONS.length)] ?? GOOD_REASONS[0])
    : record.kind && right
      ? BAD_REASONS[record.kind]
      : MISTAKEN_BAD_REASON
  return { text: `SCORE: ${score}\n${reason}`, outcome: right ? 'right' : 'wrong' }
}
