/** Markdown code fences of an answer: each block's info string, language, body and lines, and whether it was closed. */
import { scanCode } from '../heuristic-classifier/code-scan.ts'

export interface CodeBlock {
  /** 1-based, in order of appearance. */
  readonly index: number
  /** The fence's info string, lowercased (`python`, `ts`, `` for none). */
  readonly info: string
  /** The info string folded to one language name (`py` -> `python`, `tsx` -> `typescript`); '' when none. */
  readonly language: string
  readonly body: string
  /** Line of the opening fence in the answer, 1-based. */
  readonly line: number
  /** False when the answer ends before the closing fence. */
  readonly closed: boolean
}

export interface FencedText {
  readonly blocks: readonly CodeBlock[]
  /** The answer without its code blocks (each block left as one empty line). */
  readonly prose: string
}

const OPENING = /^\s*(`{3,}|~{3,})[ \t]*([^`\s]*)/

/**
 * One alias table for the project: the heuristic classifier's scan already folds fence info strings
 * (`py`, `golang`, `c++`, ...), so a block's language is read through it rather than from a second copy.
 */
export function languageOf(info: string): string {
  if (info === '') return ''
  return scanCode(`\`\`\`${info}\n\`\`\``, false).languages[0] ?? ''
}

/** Splits an answer into fenced blocks and prose; a fence closes on a line of at least as many of the same marks. */
export function splitFences(text: string): FencedText {
  const lines = text.split('\n')
  const blocks: CodeBlock[] = []
  const prose: string[] = []
  let open: { fence: string; info: string; line: number; body: string[] } | undefined
  for (const [i, line] of lines.entries()) {
    if (open) {
      const trimmed = line.trim()
      if (trimmed.startsWith(open.fence) && /^(`+|~+)$/.test(trimmed) && trimmed[0] === open.fence[0]) {
        blocks.push({ index: blocks.length + 1, info: open.info, language: languageOf(open.info), body: open.body.join('\n'), line: open.line, closed: true })
        open = undefined
        prose.push('')
      } else {
        open.body.push(line)
      }
      continue
    }
    const opening = OPENING.exec(line)
    if (opening) open = { fence: opening[1]!, info: (opening[2] ?? '').toLowerCase(), line: i + 1, body: [] }
    else prose.push(line)
  }
  if (open) blocks.push({ index: blocks.length + 1, info: open.info, language: languageOf(open.info), body: open.body.join('\n'), line: open.line, closed: false })
  return { blocks, prose: prose.join('\n') }
}
