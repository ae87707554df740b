/**
 * A tokenizer-level Python check: brackets balanced outside strings and comments, strings terminated (triple-quoted
 * included), and indentation consistent. Not a parser: it catches the breakage a cut or garbled answer shows,
 * in microseconds and without a Python on the machine.
 */

const OPENERS: Readonly<Record<string, string>> = { '(': ')', '[': ']', '{': '}' }
const CLOSERS: Readonly<Record<string, string>> = { ')': '(', ']': '[', '}': '{' }

/** Indentation width of a line's leading whitespace; a tab goes to the next multiple of 8, as Python counts it. */
function indentWidth(text: string, from: number): { width: number; end: number } {
  let width = 0
  let i = from
  for (; i < text.length; i++) {
    const ch = text[i]
    if (ch === ' ') width++
    else if (ch === '\t') width = (Math.floor(width / 8) + 1) * 8
    else if (ch === '\f') width = 0
    else break
  }
  return { width, end: i }
}

/** Where a string starting at `from` (the first quote) ends, or the problem with it. */
function skipString(src: string, from: number, line: number): { end: number; line: number } | { error: string } {
  const quote = src[from]!
  const triple = src.startsWith(quote.repeat(3), from)
  let i = from + (triple ? 3 : 1)
  let at = line
  for (; i < src.length; i++) {
    const ch = src[i]
    if (ch === '\\') {
      if (src[i + 1] === '\n') at++
      i++
      continue
    }
    if (ch === '\n') {
      if (!triple) return { error: `unterminated string at line ${line}` }
      at++
      continue
    }
    if (ch !== quote) continue
    if (!triple) return { end: i + 1, line: at }
    if (src.startsWith(quote.repeat(3), i)) return { end: i + 3, line: at }
  }
  return { error: triple ? `unterminated triple-quoted string starting at line ${line}` : `unterminated string at line ${line}` }
}

/** The first problem in `src`, or undefined when it tokenizes cleanly. Line numbers count from the block's first line. */
export function checkPythonSyntax(src: string): string | undefined {
  const brackets: { ch: string; line: number }[] = []
  const indents: number[] = []
  let line = 1
  let atLineStart = true
  let continued = false
  /** Last character of the logical line so far outside strings and comments ('' when none yet). */
  let last = ''
  let opener: number | undefined
  for (let i = 0; i < src.length; ) {
    if (atLineStart) {
      atLineStart = false
      const { width, end } = indentWidth(src, i)
      i = end
      const ch = src[i]
      const blank = ch === undefined || ch === '\n' || ch === '#' || (ch === '\r' && src[i + 1] === '\n')
      if (!blank && brackets.length === 0 && !continued) {
        const problem = checkIndent(indents, width, line, opener)
        if (problem) return problem
        opener = undefined
      }
      continue
    }
    const ch = src[i]!
    if (ch === '\n') {
      const logicalEnd = brackets.length === 0 && !continued
      if (logicalEnd && last !== '') {
        if (last === ':') opener = line
        last = ''
      }
      continued = false
      line++
      i++
      atLineStart = true
      continue
    }
    if (ch === '#') {
      while (i < src.length && src[i] !== '\n') i++
      continue
    }
    if (ch === '\\' && (src[i + 1] === '\n' || (src[i + 1] === '\r' && src[i + 2] === '\n'))) {
      continued = true
      i++
      continue
    }
    if (ch === '"' || ch === "'") {
      const skipped = skipString(src, i, line)
      if ('error' in skipped) return skipped.error
      i = skipped.end
      line = skipped.line
      last = ch
      continue
    }
    if (OPENERS[ch]) brackets.push({ ch, line })
    else if (CLOSERS[ch]) {
      const top = brackets.pop()
      if (!top) return `unmatched '${ch}' at line ${line}`
      if (top.ch !== CLOSERS[ch]) return `'${ch}' at line ${line} does not match '${top.ch}' at line ${top.line}`
    }
    if (ch !== ' ' && ch !== '\t' && ch !== '\r') last = ch
    i++
  }
  const unclosed = brackets[0]
  if (unclosed) return `unclosed '${unclosed.ch}' at line ${unclosed.line}`
  return undefined
}

/** Applies one logical line's indentation to the stack of open levels; the block's first line sets the base. */
function checkIndent(indents: number[], width: number, line: number, opener: number | undefined): string | undefined {
  const top = indents.at(-1)
  if (top === undefined) {
    indents.push(width)
    return undefined
  }
  if (opener !== undefined && width <= top) return `line ${opener} ends with ':' but line ${line} is not indented under it`
  if (width > top) {
    indents.push(width)
    return undefined
  }
  while ((indents.at(-1) ?? -1) > width) indents.pop()
  if (indents.at(-1) !== width) return `line ${line} dedents to a level never opened`
  return undefined
}
