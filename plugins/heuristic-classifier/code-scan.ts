/** Code and file scans of request text: fenced blocks and their languages, a guess for unfenced code, file paths. */

const FENCE = /```[\s\S]*?(?:```|$)/g
const FENCE_INFO = /^```[ \t]*([A-Za-z][\w+#.-]{0,19})/
const CODE_LINE = /^(?: {4}|\t)\S|[;{}]\s*$|^\s*(?:def|class|import|from|return|if|for|while|const|let|var|public|private)\b.*[:({=]/

/** Fence info strings that name one language several ways, folded to one name (anything else is kept lowercased). */
const LANGUAGE_ALIASES: Readonly<Record<string, string>> = {
  py: 'python', python3: 'python', py3: 'python', js: 'javascript', jsx: 'javascript', node: 'javascript', mjs: 'javascript',
  ts: 'typescript', tsx: 'typescript', sh: 'shell', bash: 'shell', zsh: 'shell', console: 'shell', shell: 'shell',
  golang: 'go', rs: 'rust', 'c++': 'cpp', cc: 'cpp', cxx: 'cpp', hpp: 'cpp', cs: 'csharp', 'c#': 'csharp', kt: 'kotlin',
  rb: 'ruby', yml: 'yaml', psql: 'sql', postgresql: 'sql', mysql: 'sql', text: '', txt: '', plaintext: '', output: '',
}

/**
 * Unfenced code, guessed per line from signatures that prose rarely has (a whole line `def f(x):`, `func (s *T) F(`,
 * `#include <...>`); a language counts only when at least two lines of it match (see UNFENCED_MIN_LINES).
 */
const UNFENCED_SIGNATURES: readonly (readonly [language: string, signature: string])[] = [
  ['python', String.raw`(?:async )?def \w+\(.*\)\s*(?:->\s*[^:]+)?:\s*$|class \w+(?:\([\w., ]*\))?:\s*$|from [\w.]+ import [\w*]|import [\w.]+(?: as \w+)?\s*$|elif .+:\s*$|except(?: \w+)?(?: as \w+)?:\s*$`],
  ['typescript', String.raw`(?:export )?interface \w+(?:<[^>]*>)? \{|(?:export )?type \w+(?:<[^>]*>)? = |(?:export )?(?:async )?function \w+(?:<[^>]*>)?\(.*\): \w`],
  ['javascript', String.raw`(?:export )?(?:async )?function\*? \w+\s*\(|(?:const|let) \w+ = (?:async )?\(?[\w, ]*\)? =>|(?:const|let|var) \w+ = require\(|import .+ from ['"]|module\.exports|console\.log\(`],
  ['go', String.raw`func (?:\(\w+ \*?\w+\) )?\w+\(|package \w+\s*$|\w+(?:, \w+)* := |if err != nil`],
  ['rust', String.raw`(?:pub )?(?:async )?fn \w+(?:<[^>]*>)?\(|let mut \w|impl(?:<[^>]*>)? \w|use \w+::|#\[derive\(`],
  ['java', String.raw`(?:public|private|protected) (?:static )?(?:final )?[\w<>[\], ]+ \w+\(|System\.out\.print|import java\.`],
  ['csharp', String.raw`using System|Console\.Write|namespace \w+`],
  ['cpp', String.raw`#include\s*[<"]|std::\w|template\s*<`],
  ['sql', String.raw`(?:SELECT .+ FROM|INSERT INTO|CREATE TABLE|UPDATE \w+ SET|DELETE FROM)\b`],
]
// One anchored test per line (most lines are prose and fail it); only a line that passes is matched per language.
const UNFENCED_ANY = new RegExp(`^\\s*(?:${UNFENCED_SIGNATURES.map(([, s]) => s).join('|')})`)
const UNFENCED = UNFENCED_SIGNATURES.map(([language, s]) => [language, new RegExp(`^\\s*(?:${s})`)] as const)
/** Lines longer than this are prose (or minified code, which has no line signatures to read): not guessed. */
const UNFENCED_MAX_LINE = 200
const UNFENCED_MIN_LINES = 2

export interface CodeScan {
  readonly blocks: number
  /** Characters in fenced blocks plus code-looking lines outside them. */
  readonly chars: number
  /** Lines inside fenced blocks. */
  readonly fencedLines: number
  /** Languages named by fence info strings (```python), normalized, in order of appearance. */
  readonly languages: readonly string[]
  /** Languages guessed for unfenced code (empty unless asked for). */
  readonly unfenced: readonly string[]
}

/** Newlines in `text[from, to)`, by indexOf (much faster than a /\n/g scan on long text). */
export const countNewlines = (text: string, from: number, to: number) => {
  let n = 0
  for (let i = text.indexOf('\n', from); i >= 0 && i < to; i = text.indexOf('\n', i + 1)) n++
  return n
}

/** Fenced blocks (with their languages and lines) and code-looking lines outside them; `guess` adds unfenced languages. */
export function scanCode(text: string, guess: boolean): CodeScan {
  let blocks = 0
  let chars = 0
  let fencedLines = 0
  const languages: string[] = []
  const prose = text.replace(FENCE, (block) => {
    blocks++
    chars += block.length
    fencedLines += Math.max(0, countNewlines(block, 0, block.length) - 1)
    const info = FENCE_INFO.exec(block)?.[1]?.toLowerCase()
    const lang = info === undefined ? undefined : LANGUAGE_ALIASES[info] ?? info
    if (lang && !languages.includes(lang)) languages.push(lang)
    return '\n'
  })
  let guessed: Record<string, number> | undefined
  for (const line of prose.split('\n')) {
    if (line.trim() === '') continue
    if (CODE_LINE.test(line)) chars += line.length
    if (!guess || line.length > UNFENCED_MAX_LINE || !UNFENCED_ANY.test(line)) continue
    const language = UNFENCED.find(([, re]) => re.test(line))?.[0]
    if (language === undefined) continue
    guessed ??= {}
    guessed[language] = (guessed[language] ?? 0) + 1
  }
  const unfenced = guessed ? Object.keys(guessed).filter((k) => guessed[k]! >= UNFENCED_MIN_LINES) : []
  return { blocks, chars, fencedLines, languages, unfenced }
}

const FILE_EXTENSIONS = 'py|ts|tsx|js|jsx|go|rs|java|kt|c|cc|cpp|h|hpp|cs|rb|php|swift|sql|json|ya?ml|toml|md|sh|html|css'
const FILE_REF = new RegExp(String.raw`\w\.(${FILE_EXTENSIONS})\b`, 'g')
/** Library names that look like files ("Node.js"), not counted as paths. */
const NOT_A_FILE = /^(?:node|vue|next|nuxt|react|express|d3|three|chart|ember|backbone|angular|socket\.io|p5|alpine)\.js$/
const isPathChar = (ch: number) =>
  (ch >= 97 && ch <= 122) || (ch >= 65 && ch <= 90) || (ch >= 48 && ch <= 57) || ch === 95 || ch === 45 || ch === 46 || ch === 47

export interface FileScan {
  /** File references (a name with a known source extension), every occurrence, library names ("Node.js") included. */
  readonly references: number
  /** Distinct paths or file names (`src/a.ts`, `foo.py`), case-folded. */
  readonly paths: number
  /** Distinct extensions of those paths (`ya?ml` folded to `yaml`). */
  readonly extensions: readonly string[]
}

/**
 * File references in `text`: the extension match is cheap and linear; the path is then read backwards from it over
 * path characters (at most 120), so no regex backtracks over a long run of word characters.
 */
export function scanFiles(text: string): FileScan {
  FILE_REF.lastIndex = 0
  let references = 0
  let paths: Set<string> | undefined
  const extensions: string[] = []
  for (let m = FILE_REF.exec(text); m !== null; m = FILE_REF.exec(text)) {
    references++
    const end = m.index + m[0].length
    let start = m.index
    while (start > 0 && end - start < 120 && isPathChar(text.charCodeAt(start - 1))) start--
    const path = text.slice(start, end).replace(/^[./]+/, '').toLowerCase()
    if (NOT_A_FILE.test(path)) continue
    ;(paths ??= new Set()).add(path)
    const ext = m[1] === 'yml' ? 'yaml' : m[1]!
    if (!extensions.includes(ext)) extensions.push(ext)
  }
  return { references, paths: paths?.size ?? 0, extensions }
}
