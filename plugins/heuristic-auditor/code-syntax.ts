/** Whether a code block parses: JS/TS through Bun's transpiler, JSON through JSON.parse, Python by a tokenizer check. */
import type { CodeBlock } from './fences.ts'
import { checkPythonSyntax } from './python-syntax.ts'

type Loader = 'jsx' | 'ts' | 'tsx'

/** Fence info strings checked, and how; any other block is skipped (no opinion). */
const PARSERS: Readonly<Record<string, 'json' | 'json-lines' | 'python' | readonly Loader[]>> = {
  js: ['jsx'], javascript: ['jsx'], jsx: ['jsx'], mjs: ['jsx'], cjs: ['jsx'], node: ['jsx'],
  // TypeScript answers hold JSX as often as not; the block parses when either grammar accepts it.
  ts: ['ts', 'tsx'], typescript: ['ts', 'tsx'], tsx: ['tsx', 'ts'],
  json: 'json', jsonl: 'json-lines', ndjson: 'json-lines',
  python: 'python', py: 'python', python3: 'python', py3: 'python',
}

/** A placeholder `...` standing for left-out code (`{ ... }`, `f(...)`, a line of its own); spread (`...args`) is kept. */
const ELISION = /([({[,]|^)([ \t]*)\.\.\.(?=[ \t]*(?:[)}\]]|$))/gm
/**
 * Snippets are often a function body shown alone (`return` at the top level) or a bare object literal (an options
 * object, which parses as a block otherwise). Such a snippet that fails as a module is tried once more, wrapped.
 */
function snippetWrapper(source: string, message: string): readonly [before: string, after: string] | undefined {
  if (/\breturn\b|\bawait\b/i.test(message)) return ['async function snippet() {\n', '\n}']
  if (/^\s*[{[]/.test(source)) return ['(\n', '\n)']
  return undefined
}

interface BuildMessage { readonly message?: string; readonly position?: { readonly line?: number } | null }

/** The transpiler throws one BuildMessage, or an AggregateError of several ("Parse error"): the first says most. */
const firstMessage = (error: unknown): BuildMessage => {
  const errors = (error as { errors?: unknown }).errors
  return (Array.isArray(errors) && errors.length > 0 ? errors[0] : error) as BuildMessage
}

const describeBuildError = (error: unknown): string => {
  const { message, position } = firstMessage(error)
  const line = position?.line === undefined ? '' : ` at line ${position.line}`
  return `${String(message ?? error).split('\n')[0]}${line}`
}

/** A checker with one transpiler per grammar, made once per auditor. */
export function createSyntaxChecker(): (block: CodeBlock) => string | undefined {
  const transpilers = new Map<Loader, Bun.Transpiler>()
  const transpiler = (loader: Loader) => {
    let t = transpilers.get(loader)
    if (!t) transpilers.set(loader, (t = new Bun.Transpiler({ loader })))
    return t
  }

  const parsesAs = (loader: Loader, source: string): string | undefined => {
    try {
      transpiler(loader).scan(source)
      return undefined
    } catch (error) {
      const wrapper = snippetWrapper(source, firstMessage(error).message ?? '')
      if (wrapper === undefined) return describeBuildError(error)
      try {
        transpiler(loader).scan(`${wrapper[0]}${source}${wrapper[1]}`)
        return undefined
      } catch {
        // The module's own error is the one to report: it has the snippet's own line numbers.
        return describeBuildError(error)
      }
    }
  }

  const checkScript = (loaders: readonly Loader[], body: string): string | undefined => {
    const source = body.replace(ELISION, '$1$2')
    let first: string | undefined
    for (const loader of loaders) {
      const problem = parsesAs(loader, source)
      if (problem === undefined) return undefined
      first ??= problem
    }
    return first
  }

  return (block) => {
    const parser = PARSERS[block.info]
    if (parser === undefined || block.body.trim() === '') return undefined
    if (parser === 'python') return block.body.split('\n').some((l) => l.startsWith('>>>')) ? undefined : checkPythonSyntax(block.body)
    if (parser === 'json') return checkJson(block.body)
    if (parser === 'json-lines') return block.body.split('\n').filter((l) => l.trim() !== '').map(checkJson).find((p) => p !== undefined)
    return checkScript(parser, block.body)
  }
}

function checkJson(text: string): string | undefined {
  try {
    JSON.parse(text)
    return undefined
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
}
