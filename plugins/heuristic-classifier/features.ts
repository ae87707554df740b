/** Request features (size, code, structure, constraints) shared by the heuristic and learned classifiers. */
import type { ChatRequest } from 'switchyard/plugin'

export interface RequestFeatures {
  /** Approximate tokens of the whole request (about 4 characters each). */
  readonly tokens: number
  /** Approximate tokens of the last user message alone. */
  readonly promptTokens: number
  readonly codeBlocks: number
  /** Share of characters that look like code (fenced blocks, indented or symbol-heavy lines). */
  readonly codeShare: number
  readonly lines: number
  /** Function or method definitions and signatures referenced. */
  readonly functions: number
  readonly classes: number
  readonly files: number
  /** Messages before the last user message (conversation depth). */
  readonly depth: number
  readonly systemTokens: number
  readonly imperatives: number
  readonly constraints: number
  readonly examples: number
  readonly bullets: number
  readonly question: boolean
}

const FENCE = /```[\s\S]*?(?:```|$)/g
const FUNCTION_DEF = /\b(?:def|function|func|fn)\s+\w+\s*\(|\b(?:public|private|protected|static)\s+\w[\w<>[\]]*\s+\w+\s*\(|=>/g
const CLASS_DEF = /\bclass\s+[A-Z]\w*|\binterface\s+[A-Z]\w*|\bstruct\s+[A-Z]\w*/g
const FILE_REF = /\w\.(?:py|ts|tsx|js|jsx|go|rs|java|kt|c|cc|cpp|h|hpp|cs|rb|php|swift|sql|json|ya?ml|toml|md|sh|html|css)\b/g
const IMPERATIVE = /\b(?:write|implement|create|build|design|add|make|return|compute|calculate|find|generate|develop|define|construct|modify|refactor|optimi[sz]e|fix|debug|explain|convert|sort|print|ensure|handle|complete|determine|count)\b/gi
const CONSTRAINT = /\bmust\b|\bwithout\b|\bshould not\b|\bat (?:most|least)\b|\bO\([^)]{1,20}\)|\bconstraints?\b|\bedge cases?\b|\bin[- ]place\b|\btime complexity\b|\bspace complexity\b|\befficient(?:ly)?\b|\b10\^\d|<=|>=|≤|≥|\bmodulo\b/gi
const EXAMPLE = /\bexample\s*\d*\s*:|\binput\s*:|\boutput\s*:|>>>\s/gi
const BULLET = /^\s*(?:[-*•]|\d+[.)])\s+\S/gm
const QUESTION_START = /^(?:what|how|why|when|where|which|who|is|are|can|could|does|do|should)\b/i
const CODE_LINE = /^(?: {4}|\t)\S|[;{}]\s*$|^\s*(?:def|class|import|from|return|if|for|while|const|let|var|public|private)\b.*[:({=]/

const count = (re: RegExp, text: string) => {
  re.lastIndex = 0
  let n = 0
  while (re.exec(text)) n++
  return n
}

/** Characters that look like code: fenced blocks plus code-looking lines outside them. */
function codeCharacters(text: string): { blocks: number; chars: number } {
  let blocks = 0
  let chars = 0
  const prose = text.replace(FENCE, (block) => {
    blocks++
    chars += block.length
    return '\n'
  })
  for (const line of prose.split('\n')) if (line.trim() !== '' && CODE_LINE.test(line)) chars += line.length
  return { blocks, chars }
}

/** Extract the features from the whole request: every message, the system prompt and the turn count. */
export function extractFeatures(req: Pick<ChatRequest, 'messages'>): RequestFeatures {
  let lastUser = -1
  let systemChars = 0
  let chars = 0
  req.messages.forEach((m, i) => {
    if (m.role === 'user') lastUser = i
    if (m.role === 'system') systemChars += m.content.length
    chars += m.content.length
  })
  const prompt = req.messages[lastUser]?.content ?? req.messages.at(-1)?.content ?? ''
  const text = req.messages.length === 1 ? prompt : req.messages.filter((m) => m.role !== 'system').map((m) => m.content).join('\n\n')
  // Counting regexes read a bounded prefix: past a few thousand characters more text changes nothing but latency.
  const code = codeCharacters(text.length > 6000 ? text.slice(0, 6000) : text)
  const scan = text.length > 4000 ? text.slice(0, 4000) : text
  const ask = prompt.length > 3000 ? prompt.slice(0, 3000) : prompt
  const trimmed = prompt.trim()
  return {
    tokens: Math.ceil(chars / 4),
    promptTokens: Math.ceil(prompt.length / 4),
    codeBlocks: code.blocks,
    codeShare: text.length === 0 ? 0 : Math.min(1, code.chars / Math.min(text.length, 6000)),
    lines: text === '' ? 0 : count(/\n/g, text) + 1,
    functions: count(FUNCTION_DEF, scan),
    classes: count(CLASS_DEF, scan),
    files: count(FILE_REF, scan),
    depth: Math.max(0, req.messages.filter((m, i) => m.role !== 'system' && i < lastUser).length),
    systemTokens: Math.ceil(systemChars / 4),
    imperatives: count(IMPERATIVE, ask),
    constraints: count(CONSTRAINT, ask),
    examples: count(EXAMPLE, ask),
    bullets: count(BULLET, ask),
    question: trimmed.endsWith('?') || (QUESTION_START.test(trimmed) && trimmed.length < 300),
  }
}

/** The features as a fixed-order numeric vector (log-scaled counts), the learned model's dense inputs. */
export const DENSE_FEATURE_NAMES = [
  'log-tokens', 'log-prompt-tokens', 'code-share', 'code-blocks', 'lines', 'functions', 'classes', 'files', 'depth',
  'system-tokens', 'imperatives', 'constraints', 'examples', 'bullets', 'question',
] as const

export function denseFeatures(f: RequestFeatures): number[] {
  const l = (n: number) => Math.log1p(n)
  return [
    l(f.tokens) / 4, l(f.promptTokens) / 4, f.codeShare, l(f.codeBlocks), l(f.lines) / 2, l(f.functions), l(f.classes),
    l(f.files), l(f.depth), l(f.systemTokens) / 4, l(f.imperatives), l(f.constraints), l(f.examples), l(f.bullets),
    f.question ? 1 : 0,
  ]
}
