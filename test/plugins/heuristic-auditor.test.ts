/** heuristic-auditor: each check fires on a realistic bad draft with a reason naming it, and stays quiet on good ones. */
import { describe, expect, test } from 'bun:test'
import * as v from 'valibot'
import { keepNothing } from 'switchyard/plugin'
import type { AuditAnswer, ChatRequest, Logger } from 'switchyard/plugin'
import heuristicAuditor from '../../plugins/heuristic-auditor/index.ts'
import { checkPythonSyntax } from '../../plugins/heuristic-auditor/python-syntax.ts'
import { askedLanguage } from '../../plugins/heuristic-auditor/task-fit.ts'

const log: Logger = { debug() {}, info() {}, warn() {}, error() {} }
const request = (content: string): ChatRequest => ({
  protocol: 'openai', operation: 'chat', model: 'auto', stream: false, body: {},
  messages: [{ role: 'system', content: 'You are a helpful coding assistant.' }, { role: 'user', content }],
})
const setupWith = (input: unknown = {}) =>
  heuristicAuditor.setup({
    name: 'heuristic-auditor', options: v.parse(heuristicAuditor.options, input),
    signal: new AbortController().signal, log, gateway: { backends: [] }, baseDir: process.cwd(), keep: keepNothing,
  })
const signal = new AbortController().signal
const fence = '```'
const answer = (text: string, extra: Partial<AuditAnswer> = {}): AuditAnswer => ({ text, model: 'qwen2.5-coder:1.5b', finishReason: 'stop', ...extra })
const audit = async (prompt: string, text: string, extra: Partial<AuditAnswer> = {}, options: unknown = {}) =>
  (await setupWith(options)).audit(request(prompt), answer(text, extra), signal)

/** Good answers to their prompts: none of the checks may fire on any of them. */
const GOOD: readonly (readonly [prompt: string, answer: string])[] = [
  ['What is the capital of France?', 'Paris.'],
  ['What does HTTP 404 mean?', '404 Not Found: the server has nothing at that URL.'],
  ['Is Python dynamically typed?', 'Yes. Types belong to values, not variables, and are checked at run time.'],
  ['Explain what a closure is in JavaScript.', [
    'A closure is a function together with the variables it captured from the scope it was created in.',
    'Even after the outer function returns, the inner one can still read and change those variables:',
    '', `${fence}js`, 'function counter() {', '  let n = 0', '  return () => ++n', '}', 'const next = counter()',
    'next() // 1', 'next() // 2', fence, '', 'Each call to `counter()` makes a new `n`, so two counters do not share state.',
  ].join('\n')],
  ['Write a Python function that merges overlapping intervals.', [
    "Sort by start, then extend the last merged interval while the next one overlaps:", '', `${fence}python`,
    'def merge_intervals(intervals: list[list[int]]) -> list[list[int]]:',
    '    """Merge overlapping [start, end] intervals."""', '    merged: list[list[int]] = []',
    '    for start, end in sorted(intervals):', '        if merged and start <= merged[-1][1]:',
    '            merged[-1][1] = max(merged[-1][1], end)', '        else:', '            merged.append([start, end])',
    '    return merged', fence, '', 'It runs in O(n log n) because of the sort.',
  ].join('\n')],
  ['Write a TypeScript function to debounce another function.', [
    `${fence}ts`, 'export function debounce<A extends unknown[]>(fn: (...args: A) => void, waitMs: number) {',
    '  let timer: ReturnType<typeof setTimeout> | undefined', '  return (...args: A) => {',
    '    clearTimeout(timer)', '    timer = setTimeout(() => fn(...args), waitMs)', '  }', '}', fence,
    '', 'Calls within `waitMs` of each other collapse into the last one.',
  ].join('\n')],
  ['Give me an example JSON config for a web server.', [
    'Here is a small one:', '', `${fence}json`, '{', '  "port": 8080,', '  "host": "0.0.0.0",', '  "tls": { "enabled": false },',
    '  "routes": ["/", "/health"]', '}', fence,
  ].join('\n')],
  ['Write a Go function that reverses a slice of ints in place.', [
    `${fence}go`, 'func reverse(s []int) {', '\tfor i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {', '\t\ts[i], s[j] = s[j], s[i]', '\t}', '}', fence,
    '', 'It swaps from both ends towards the middle, so it needs no extra memory.',
  ].join('\n')],
  ['How do I parse a date string in Python?', [
    'Use `datetime.strptime` with a format that matches the string.', '', `${fence}python`, 'from datetime import datetime', '',
    'd = datetime.strptime("2024-03-01 14:30", "%Y-%m-%d %H:%M")', 'print(d.year, d.month)  # 2024 3', fence, '',
    "I can't guarantee every locale's month names will parse this way; for ISO dates `datetime.fromisoformat` is simpler.",
  ].join('\n')],
  ['Can you tell me the weather in Paris right now?', [
    "I can't guarantee up-to-the-minute data, but here is how to check it quickly: open a weather service such as",
    'Meteo-France or a weather app, or run `curl wttr.in/Paris` in a terminal for a text forecast. It shows the current',
    'temperature, wind and the next three days, and it updates every few minutes.',
  ].join('\n')],
  ['Write a complete Python program that counts word frequencies in a file.', [
    "Here's a complete program:", '', `${fence}python`, 'import sys', 'from collections import Counter', '', '',
    'def count_words(path: str) -> Counter[str]:', '    with open(path, encoding="utf-8") as f:',
    "        return Counter(word.lower() for line in f for word in line.split())", '', '',
    'def main() -> None:', '    if len(sys.argv) != 2:', '        print("usage: wordfreq.py FILE", file=sys.stderr)', '        sys.exit(1)',
    '    for word, n in count_words(sys.argv[1]).most_common(10):', "        print(f'{n:6} {word}')", '', '',
    'if __name__ == "__main__":', '    main()', fence, '', 'Run it as `python wordfreq.py notes.txt`.',
  ].join('\n')],
  ['Explain step-by-step how TLS establishes a session.', [
    '1. The client sends ClientHello with its supported versions, cipher suites and a key share.',
    '2. The server answers ServerHello, picks the suite, sends its key share and its certificate.',
    '3. Both sides derive the handshake keys from the shared secret (ECDHE).',
    '4. The server proves it owns the certificate key with CertificateVerify and sends Finished.',
    '5. The client checks the certificate chain and the signature, then sends its own Finished.',
    '6. Application data flows under keys derived from the whole handshake transcript.',
  ].join('\n')],
  ['Write a SQL query that returns the ten newest orders.', `${fence}sql\nSELECT id, customer_id, created_at\nFROM orders\nORDER BY created_at DESC\nLIMIT 10;\n${fence}`],
  ['Write a bash one-liner to count lines in all .ts files.', `${fence}bash\nfind . -name '*.ts' -print0 | xargs -0 wc -l | tail -n 1\n${fence}`],
  ['Write a Rust function that returns the largest element of a slice.', [
    `${fence}rust`, 'fn largest<T: PartialOrd + Copy>(items: &[T]) -> Option<T> {', '    let mut best = *items.first()?;',
    '    for &item in items {', '        if item > best {', '            best = item;', '        }', '    }', '    Some(best)', '}', fence,
  ].join('\n')],
  ['Fix the bug in this React component.\n```jsx\nfunction List({ items }) { return <ul>{items.map(i => <li>{i}</li>)}</ul> }\n```', [
    'Each list item needs a stable `key`:', '', `${fence}jsx`, 'function List({ items }) {',
    '  return <ul>{items.map((item) => <li key={item.id}>{item.label}</li>)}</ul>', '}', fence,
  ].join('\n')],
  ['Show a Python class for a stack.', [
    `${fence}python`, 'class Stack:', '    def __init__(self):', '        self._items = []', '',
    '    def push(self, item):', '        self._items.append(item)', '', '    def pop(self):',
    "        if not self._items:", "            raise IndexError('pop from empty stack')", '        return self._items.pop()',
    '', '    def peek(self):', '        ...', fence,
  ].join('\n')],
  ['Write a TypeScript interface for a user and a function that greets one.', [
    `${fence}typescript`, 'interface User {', '  id: string', '  name: string', '}', '', 'function greet(user: User): string {',
    '  return `Hello, ${user.name}!`', '}', '', '// ...', 'const users: User[] = [/* ... */]', fence,
  ].join('\n')],
  ['Convert this Python to JavaScript: `print(sum(x * x for x in range(10)))`', `${fence}js\nconsole.log(Array.from({ length: 10 }, (_, x) => x * x).reduce((a, b) => a + b, 0))\n${fence}`],
  ['What is 2 + 2?', '[qwen2.5-coder:1.5b] 4.'],
  ['Summarize the plot of Hamlet in two sentences.', 'Prince Hamlet feigns madness while seeking to avenge his father, murdered by his uncle Claudius who has married his mother. His hesitation leads to the deaths of nearly everyone at court, including Hamlet himself.'],
  ['Write a python snippet with a multi-line string.', `${fence}python\nsql = """\nSELECT *\nFROM t -- it's fine\n"""\nrows = run(sql, (1,\n        2))\n${fence}`],
]

describe('heuristic-auditor', () => {
  test('good answers of every kind pass with score 1 and no reasons', async () => {
    const auditor = await setupWith()
    expect(GOOD.length).toBeGreaterThanOrEqual(15)
    for (const [prompt, text] of GOOD) {
      const out = await auditor.audit(request(prompt), answer(text), signal)
      expect({ prompt, reasons: out.reasons }).toEqual({ prompt, reasons: [] })
      expect(out.score).toBe(1)
    }
  })

  test('an empty or whitespace answer scores 0', async () => {
    for (const text of ['', '  \n\t ']) expect(await audit('Explain closures.', text)).toEqual({ score: 0, reasons: ['empty answer'] })
  })

  test('a cut at the token limit the client did not set is a fault; at its own limit it is not', async () => {
    const text = 'A closure keeps the variables of the scope it was created in, so a function returned from another'
    const cut = await audit('Explain closures.', text, { finishReason: 'length', outputTokens: 24 })
    expect(cut.reasons).toEqual(['cut off by the token limit after 24 tokens (the client set none)'])
    expect(cut.score).toBeCloseTo(0.3, 10)
    expect(await audit('Explain closures.', text, { finishReason: 'length', outputTokens: 24, clientLimit: 24 })).toEqual({ score: 1, reasons: [] })
  })

  test('a refusal or deflection that makes up the answer is caught in several phrasings', async () => {
    const refusals = [
      "I'm sorry, but I can't help with that request.",
      'As an AI language model, I do not have personal opinions. You may want to ask a human expert.',
      'I cannot assist with writing that code.',
      'I am unable to help with this. Please consult the documentation.',
      'I\u2019m sorry, but I cannot provide that.',
    ]
    for (const text of refusals) {
      const out = await audit('Write a function that sorts a list.', text)
      expect(out.reasons).toHaveLength(1)
      expect(out.reasons[0]).toStartWith('refusal or deflection (')
      expect(out.score).toBeCloseTo(0.2, 10)
    }
  })

  test('a helpful answer that mentions a limit once is not a refusal', async () => {
    const text = [
      'As an AI, I cannot run your code, but the traceback points at the cause.', '',
      '`items` is `None` when the cache misses, so `len(items)` raises. Return an empty list instead:', '',
      `${fence}python`, 'def load(key):', '    return cache.get(key) or []', fence,
    ].join('\n')
    expect((await audit('Why does len(items) fail?', text)).reasons).toEqual([])
  })

  test('a repetition loop is caught by repeated n-grams and by a sentence said again and again', async () => {
    const loop = `The function returns the list. ${'Then it returns the list again and again. '.repeat(12)}`
    const out = await audit('Explain what this function returns.', loop)
    expect(out.reasons.some((r) => /^repetition loop: \d+% of 4-word sequences repeat$/.test(r))).toBe(true)
    expect(out.reasons).toContain('repetition loop: "then it returns the list again and ag..." said 12 times')
    expect(out.score).toBeCloseTo(0.3, 10)
    const rows = JSON.stringify(Array.from({ length: 20 }, () => ({ status: 'ready', retries: 0, owner: null })), null, 2)
    expect((await audit('List the jobs as JSON.', rows)).reasons).toEqual([])
    const stuck = `${fence}python\nx = 1\n${'print("value is", x)\n'.repeat(8)}${fence}`
    expect((await audit('Print x.', stuck)).reasons).toContain('repetition loop: code line "print("value is", x)" 8 times in a row')
  })

  test('code blocks that do not parse are named with the problem and its line', async () => {
    const cases: readonly (readonly [string, string])[] = [
      [`${fence}python\ndef area(r):\n    import math\n    return math.pi * (r ** 2\n${fence}`, "code block 1 (python) does not parse: unclosed '(' at line 3"],
      [`${fence}py\nmsg = """never closed\nprint(msg)\n${fence}`, 'code block 1 (py) does not parse: unterminated triple-quoted string starting at line 1'],
      [`${fence}python\nif ready:\nstart()\n${fence}`, "code block 1 (python) does not parse: line 1 ends with ':' but line 2 is not indented under it"],
      [`${fence}python\ndef f():\n        a = 1\n    return a\n${fence}`, 'code block 1 (python) does not parse: line 3 dedents to a level never opened'],
      [`${fence}python\nname = 'open\n${fence}`, 'code block 1 (python) does not parse: unterminated string at line 1'],
      [`${fence}ts\nconst a: number = 1\nfunction f( {\n  return a\n}\n${fence}`, 'code block 1 (ts) does not parse: '],
      [`${fence}javascript\nconst xs = [1, 2, 3\nconsole.log(xs)\n${fence}`, 'code block 1 (javascript) does not parse: '],
      [`${fence}json\n{ "port": 8080, }\n${fence}`, 'code block 1 (json) does not parse: '],
    ]
    for (const [text, reason] of cases) {
      const out = await audit('Fix this.', `Here you go:\n\n${text}\n`)
      expect(out.reasons).toHaveLength(1)
      expect(out.reasons[0]).toStartWith(reason)
      expect(out.score).toBeCloseTo(0.4, 10)
    }
    const ts = await audit('Fix this.', `${fence}ts\nconst a: number = 1\nfunction f( {\n  return a\n}\n${fence}`)
    expect(ts.reasons[0]).toBe('code block 1 (ts) does not parse: Expected "}" but found "a" at line 3')
  })

  test('an unterminated fence is broken code unless a token limit cut the answer', async () => {
    const text = `Here:\n\n${fence}python\ndef f():\n    return 1\n`
    expect((await audit('Write f.', text)).reasons).toEqual(['code block 1 (python) is never closed: the fence at line 3 has no closing ```'])
    expect((await audit('Write f.', text, { finishReason: 'length', clientLimit: 20 })).reasons).toEqual([])
  })

  test('a very short answer to a task asking for a whole program or a detailed explanation', async () => {
    const out = await audit('Write a complete Python program for a todo list CLI with add, list and done commands.', '[qwen2.5-coder:1.5b] Use argparse and a JSON file.')
    expect(out.reasons).toEqual(['too short for the task: 1 lines, 7 words where a full answer was asked for'])
    expect(out.score).toBeCloseTo(0.5, 10)
    expect((await audit('Explain step-by-step how DNS resolution works.', 'It asks a resolver.')).reasons).toHaveLength(1)
    expect((await audit('What is DNS?', 'It asks a resolver.')).reasons).toEqual([])
    const completion = `${fence}python\ndef add(a, b):\n    return a + b\n${fence}`
    expect((await audit('Complete the code below:\ndef add(a, b):', completion)).reasons).toEqual([])
  })

  test('code in another language than the one asked for', async () => {
    const js = `${fence}javascript\nconst rev = (s) => s.split('').reverse().join('')\n${fence}`
    expect((await audit('Write a Python function that reverses a string.', js)).reasons).toEqual(['wrong language: asked for python, code is javascript'])
    const untaggedPython = `${fence}\ndef rev(s):\n    return s[::-1]\n\nimport sys\n${fence}`
    expect((await audit('How do I reverse a string in Go?', untaggedPython)).reasons).toEqual(['wrong language: asked for go, code is python'])
    expect((await audit('Convert this Python function to Rust: def f(x): return x * 2', `${fence}python\ndef f(x):\n    return x * 2\n${fence}`)).reasons)
      .toEqual(['wrong language: asked for rust, code is python'])
    const withShell = `${fence}bash\npip install requests\n${fence}\n${fence}python\nimport requests\nprint(requests.get(url).status_code)\n${fence}`
    expect((await audit('Fetch a URL in Python.', withShell)).reasons).toEqual([])
  })

  test('the asked language is the only one named, or the target of a conversion', () => {
    expect(askedLanguage('Write it in TypeScript')).toBe('typescript')
    expect(askedLanguage('Port this Java class to Kotlin')).toBe('kotlin')
    expect(askedLanguage('Go to the store and buy milk')).toBeUndefined()
    expect(askedLanguage('Compare Python and Ruby')).toBeUndefined()
    expect(askedLanguage('Explain this:\n```java\nclass A {}\n```\nin plain words')).toBeUndefined()
  })

  test('faults compound as a product of (1 - weight)', async () => {
    const text = "I'm sorry, but I can't help with that, it is"
    const out = await audit('Write a complete implementation of a B-tree in Python.', text, { finishReason: 'length' })
    expect(out.reasons).toHaveLength(3)
    expect(out.score).toBeCloseTo((1 - 0.7) * (1 - 0.8) * (1 - 0.5), 10)
  })

  test('weights can be overridden, and a weight of 0 turns a check off', async () => {
    const text = 'A closure keeps the variables of'
    const lighter = await audit('Explain closures.', text, { finishReason: 'length' }, { weights: { truncated: 0.2 } })
    expect(lighter.score).toBeCloseTo(0.8, 10)
    expect(await audit('Explain closures.', text, { finishReason: 'length' }, { weights: { truncated: 0 } })).toEqual({ score: 1, reasons: [] })
    expect(() => v.parse(heuristicAuditor.options, { weights: { truncated: 1.5 } })).toThrow()
    expect(() => v.parse(heuristicAuditor.options, { weights: { slow: 0.5 } })).toThrow()
  })

  test('the Python check follows strings, comments and brackets across lines', () => {
    expect(checkPythonSyntax('x = f(1,  # a comment with ( and "\n      2)\ns = "a \\" b"\nt = r"\\d+(?:x)"\n')).toBeUndefined()
    expect(checkPythonSyntax("x = [1, 2)\n")).toBe("')' at line 1 does not match '[' at line 1")
    expect(checkPythonSyntax('y = 1)\n')).toBe("unmatched ')' at line 1")
    expect(checkPythonSyntax('def f(a,\n      b):\n    return a\n')).toBeUndefined()
    expect(checkPythonSyntax('    def method(self):\n        return 1\n')).toBeUndefined()
  })
})
