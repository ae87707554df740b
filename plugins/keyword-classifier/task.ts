/** Task-type detection (docstring, explain, generate, refactor, debug...) shared by the built-in classifiers. */
import { lastUserText } from 'switchyard/plugin'
import type { ChatRequest } from 'switchyard/plugin'

export const TASK_TYPES = [
  'docstring', 'comment', 'format', 'explain', 'test', 'translate', 'debug', 'refactor', 'optimize', 'design',
  'generate', 'question', 'chat',
] as const
export type TaskType = (typeof TASK_TYPES)[number]

// Checked in order: the first match wins, so specific edits come before broad verbs like "write".
const TASK_PATTERNS: readonly (readonly [TaskType, RegExp])[] = [
  ['docstring', /\bdoc ?strings?\b|\bjsdoc\b|\bdocument (this|the) (function|code|class|method)/i],
  ['comment', /\b(add|write|insert)\b.{0,20}\bcomments?\b/i],
  ['format', /\b(re)?format\b|\bprettify\b|\bindent(ation)?\b|\blint\b/i],
  ['debug', /\bdebug\b|\bfix (the|this|my) (bug|error|code|issue)|\bwhy (does|is) (this|my|the) .{0,40}(fail|crash|error|wrong)|\btraceback\b|\bexception\b.{0,40}\bthrown\b/i],
  ['refactor', /\brefactor|\bclean ?up\b|\brestructure\b|\brewrite (this|the) (code|function|class)/i],
  ['optimize', /\boptimi[sz]e|\bspeed up\b|\bmake (it|this) faster\b|\bperformance\b/i],
  ['design', /\bdesign\b|\barchitect|\bsystem for\b|\bscalab/i],
  ['test', /\bunit tests?\b|\btest cases?\b|\bwrite tests?\b|\bpytest\b/i],
  ['translate', /\b(convert|translate|port) (this|the|it|following)\b.{0,40}\b(to|into)\b/i],
  ['explain', /\bexplain\b|\bwhat (does|is|are)\b|\bhow does\b|\bdescribe\b|\bwhy\b/i],
  ['generate', /\b(write|implement|create|generate|build|complete|code|develop|construct|make)\b|\bdef \w+\(|\bclass \w+/i],
]

/** The request's task type from its last user message (or the whole conversation's first matching message). */
export function detectTask(req: ChatRequest): TaskType {
  const text = lastUserText(req) || (req.messages.at(-1)?.content ?? '')
  const head = text.length > 600 ? text.slice(0, 600) : text
  for (const [task, pattern] of TASK_PATTERNS) if (pattern.test(head)) return task
  return /\?\s*$/.test(head.trim()) ? 'question' : 'chat'
}
