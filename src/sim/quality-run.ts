/** A generation in quality mode: the quality model's answer (or the simulated judge's score), cut to the client's limit, remembered for the judge. */
import { splitPieces } from './answer-text.ts'
import { wrapAsJson, type Completion } from './generate.ts'
import { judgeAnswer, rubricAnswer, type AnswerMemory } from './judge.ts'
import type { ModelSpec } from './models.ts'
import { qualityAnswer } from './quality.ts'

/** `good` or `bad:<kind>`: the simulator's verdict on the answer it sent (for debugging and tests). */
export const QUALITY_HEADER = 'x-sim-quality'
/** On the simulated judge's replies: whether its score agrees with the truth (`right`, `wrong`, `unknown`). */
export const JUDGE_HEADER = 'x-sim-judge'

export interface QualityCompletion extends Completion {
  readonly headers: Readonly<Record<string, string>>
}

export interface QualityInput {
  readonly prompt: string
  /** The last user message, where a rubric prompt is looked for. */
  readonly ask: string
  readonly limit: number | undefined
  readonly json: boolean
}

/** The client's num_predict / max_tokens cuts the pieces as it does outside quality mode. */
function applyLimit(pieces: string[], limit: number | undefined): { pieces: string[]; cut: boolean } {
  const cut = limit !== undefined && limit >= 0 && limit < pieces.length
  return { pieces: cut ? pieces.slice(0, limit) : pieces, cut }
}

export function createQualityCompletion(memory: AnswerMemory, spec: ModelSpec, input: QualityInput): QualityCompletion {
  const rubric = rubricAnswer(input.ask)
  if (rubric !== undefined) {
    const reply = judgeAnswer(memory, spec.name, spec.billions, input.ask, rubric)
    const { pieces, cut } = applyLimit(splitPieces(reply.text), input.limit)
    if (input.json) wrapAsJson(pieces, !cut)
    return { pieces, doneReason: cut ? 'length' : 'stop', headers: { [QUALITY_HEADER]: 'good', [JUDGE_HEADER]: reply.outcome } }
  }
  const answer = qualityAnswer(spec.name, input.prompt)
  const { pieces, cut } = applyLimit(splitPieces(answer.text), input.limit)
  if (input.json) wrapAsJson(pieces, !cut && answer.doneReason === 'stop')
  const { verdict } = answer
  // The judge knows what the client got: an answer the client's own limit cut short is not a good one.
  const kind = verdict.kind ?? (cut ? 'truncated' : undefined)
  memory.remember(pieces.join(''), kind ? { good: false, kind } : { good: true })
  return {
    pieces,
    doneReason: cut ? 'length' : answer.doneReason,
    headers: { [QUALITY_HEADER]: verdict.kind ? `bad:${verdict.kind}` : 'good' },
  }
}
