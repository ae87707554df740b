/** Code for simulated answers: small valid programs per language, and the one-character damage that makes them not parse. */
import { C, CPP, CSHARP, GO, JAVA, KOTLIN, RUST, SWIFT } from './code-templates-compiled.ts'
import { BASH, capital, CLASS_SUFFIXES, JAVASCRIPT, LABELS, NOUNS, PHP, PYTHON, RUBY, SQL, TYPESCRIPT, VERBS, type Names, type Unit } from './code-templates.ts'
import type { Picker } from './draws.ts'
import type { CodeLanguage } from './prompt-traits.ts'

function namesFor(picker: Picker, index: number, base: number): Names {
  const verb = VERBS[(base + index) % VERBS.length] ?? 'parse'
  const [one, many] = NOUNS[(base * 7 + index * 5) % NOUNS.length] ?? ['item', 'items']
  return {
    snake: `${verb}_${many}`,
    camel: `${verb}${capital(many)}`,
    pascal: `${capital(verb)}${capital(many)}`,
    cls: `${capital(one)}${CLASS_SUFFIXES[(base + index) % CLASS_SUFFIXES.length] ?? 'Store'}`,
    one,
    many,
    manyPascal: capital(many),
    k: picker.int(2, 50),
    s: picker.pick(LABELS),
  }
}

/** `count` distinct units (names never repeat in one block: modules reject duplicate declarations). */
function units(picker: Picker, templates: readonly Unit[], count: number): string[] {
  const base = picker.int(0, 1000)
  const first = picker.int(0, templates.length - 1)
  return Array.from({ length: count }, (_, i) => (templates[(first + i) % templates.length] ?? templates[0]!)(namesFor(picker, i, base)))
}

function jsonDocument(picker: Picker, size: number): string {
  const base = picker.int(0, 1000)
  const [one, many] = NOUNS[base % NOUNS.length] ?? ['item', 'items']
  const document: Record<string, unknown> = {
    name: `${one}-${picker.pick(LABELS)}`,
    version: `1.${picker.int(0, 9)}.0`,
    enabled: picker.unit() < 0.7,
    limit: picker.int(5, 500),
    tags: Array.from({ length: Math.min(LABELS.length, 1 + size) }, (_, i) => LABELS[(base + i) % LABELS.length]),
    [many]: Array.from({ length: 2 * size }, (_, i) => ({ id: i + 1, [one]: `${one}-${i + 1}`, status: picker.pick(LABELS) })),
  }
  if (size > 2) document.settings = { retries: picker.int(1, 5), timeoutMs: picker.int(1, 30) * 1000, mode: picker.pick(LABELS) }
  return JSON.stringify(document, null, 2)
}

/** Methods inside a class, as Java and C# need them. */
function inClass(header: string, methods: readonly string[], open: string): string {
  return `${header}${open}\n${methods.map((m) => m.replace(/^/gm, '    ')).join('\n\n')}\n}`
}

const className = (picker: Picker) => `${capital(picker.pick(VERBS))}${capital(picker.pick(NOUNS)[1])}`

/** The code of a block in `language` with `size` units (functions, classes, statements); more units for longer answers. */
export function codeFor(language: CodeLanguage, picker: Picker, size: number): string {
  const long = size > 2
  const label = picker.pick(LABELS)
  switch (language) {
    case 'json':
      return jsonDocument(picker, size)
    case 'python': {
      const body = units(picker, PYTHON, size).join('\n\n\n')
      return long ? `${body}\n\n\nif __name__ == "__main__":\n    for name in ["${label}", "${picker.pick(LABELS)}"]:\n        print(name)` : body
    }
    case 'typescript':
      return units(picker, TYPESCRIPT, size).join('\n\n')
    case 'javascript':
      return units(picker, JAVASCRIPT, size).join('\n\n')
    case 'go': {
      const body = units(picker, GO, size).join('\n\n')
      return long ? `package main\n\nimport "fmt"\n\n${body}\n\nfunc main() {\n\tfmt.Println("${label}")\n}` : `package main\n\n${body}`
    }
    case 'rust': {
      const body = units(picker, RUST, size).join('\n\n')
      const main = long ? `\n\nfn main() {\n    println!("${label}");\n}` : ''
      return `use std::collections::HashMap;\n\n${body}${main}`
    }
    case 'java': {
      const methods = units(picker, JAVA, size)
      if (long) methods.push(`public static void main(String[] args) {\n    System.out.println("${label}");\n}`)
      return inClass(`import java.util.*;\n\npublic class ${className(picker)}`, methods, ' {')
    }
    case 'csharp': {
      const methods = units(picker, CSHARP, size)
      if (long) methods.push(`public static void Main()\n{\n    System.Console.WriteLine("${label}");\n}`)
      return inClass(`using System.Collections.Generic;\nusing System.Linq;\n\npublic static class ${className(picker)}`, methods, '\n{')
    }
    case 'c': {
      const main = long ? `\n\nint main(void) {\n    printf("${label}\\n");\n    return 0;\n}` : ''
      return `#include <stddef.h>\n#include <stdio.h>\n\n${units(picker, C, size).join('\n\n')}${main}`
    }
    case 'cpp': {
      const main = long ? `\n\nint main() {\n    std::cout << "${label}" << std::endl;\n    return 0;\n}` : ''
      return `#include <iostream>\n#include <string>\n#include <utility>\n#include <vector>\n\n${units(picker, CPP, size).join('\n\n')}${main}`
    }
    case 'kotlin':
      return `${units(picker, KOTLIN, size).join('\n\n')}${long ? `\n\nfun main() {\n    println("${label}")\n}` : ''}`
    case 'swift':
      return `${units(picker, SWIFT, size).join('\n\n')}${long ? `\n\nprint("${label}")` : ''}`
    case 'ruby':
      return `${units(picker, RUBY, size).join('\n\n')}${long ? `\n\nif __FILE__ == $PROGRAM_NAME\n  puts "${label}"\nend` : ''}`
    case 'php':
      return `<?php\n\n${units(picker, PHP, size).join('\n\n')}${long ? `\n\necho "${label}" . PHP_EOL;` : ''}`
    case 'sql':
      return units(picker, SQL, size).join('\n\n')
    case 'bash':
      return `#!/usr/bin/env bash\nset -euo pipefail\n\n${units(picker, BASH, size).join('\n\n')}`
  }
}

const CLOSERS = new Set([')', ']', '}'])

/** Index of the last closing bracket outside string literals, or -1. */
function lastClosingBracket(code: string): number {
  let quote: string | undefined
  let last = -1
  for (let i = 0; i < code.length; i++) {
    const ch = code.charAt(i)
    if (quote) {
      if (ch === '\\') i++
      else if (ch === quote || ch === '\n') quote = undefined
    } else if (ch === '"' || ch === "'") {
      quote = ch
    } else if (CLOSERS.has(ch)) {
      last = i
    }
  }
  return last
}

/**
 * The same code with one character gone so it no longer parses: the last closing bracket, or the quote
 * that ends the last string literal (nothing after it closes the string, in any of these languages).
 */
export function breakCode(code: string, picker: Picker): string {
  const lastQuote = Math.max(code.lastIndexOf('"'), code.lastIndexOf("'"))
  const bracket = lastClosingBracket(code)
  const at = lastQuote >= 0 && (bracket < 0 || picker.unit() < 0.5) ? lastQuote : bracket
  return at < 0 ? `${code}(` : code.slice(0, at) + code.slice(at + 1)
}
