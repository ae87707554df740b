/** The judge's prompt: a short rubric, and the task and answer in the tagged format judges (and the simulator) read. */
import type { AuditAnswer, ChatRequest } from 'switchyard/plugin'

export const DEFAULT_INSTRUCTIONS = [
  'You check a draft answer from a small model before it is sent. Score it from 0 to 10:',
  '10: correct and complete for the task. 7-9: correct with small gaps. 4-6: partly right, or much less than asked.',
  '1-3: wrong, broken code, off-topic or in the wrong language. 0: empty, a refusal, a loop, or cut off mid-way.',
  'Judge only what the task asks for; do not reward length.',
].join('\n')

/** Head and tail of a long text (the end shows whether it was cut off), with how much was left out between. */
export function clip(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text
  const half = Math.floor(maxChars / 2)
  return `${text.slice(0, half)}\n[... ${text.length - 2 * half} characters left out ...]\n${text.slice(-half)}`
}

/** The conversation as `[role]` headed blocks, each clipped, the whole kept to `maxChars` from the newest end. */
export function transcript(req: ChatRequest, maxChars: number): string {
  const text = req.messages.map((m) => `[${m.role}]\n${clip(m.content, maxChars)}`).join('\n\n')
  return text.length > maxChars ? `...${text.slice(-maxChars)}` : text
}

/** The judge's user message; the answer goes in as it is (untrimmed), clipped only beyond `maxChars`. */
export function judgePrompt(req: ChatRequest, answer: AuditAnswer, maxChars: number): string {
  return [
    '<task>', transcript(req, maxChars), '</task>',
    '<answer>', clip(answer.text, maxChars), '</answer>',
    'Reply with "SCORE: <0-10>" on the first line, then one short reason.',
  ].join('\n')
}
