/** keyword-classifier: rule matching, options and defaults on fixed inputs. */
import { describe, expect, test } from 'bun:test'
import * as v from 'valibot'
import type { ChatRequest, Logger } from 'switchyard/plugin'
import keywordClassifier from '../../plugins/keyword-classifier/index.ts'
import { keepNothing } from 'switchyard/plugin'

const log: Logger = { debug() {}, info() {}, warn() {}, error() {} }
const request = (...messages: [role: string, content: string][]): ChatRequest => ({
  protocol: 'openai', operation: 'chat', model: 'auto', stream: false, body: {},
  messages: messages.map(([role, content]) => ({ role, content })),
})
const setupWith = (input: unknown = {}) =>
  keywordClassifier.setup({
    name: 'keyword-classifier', options: v.parse(keywordClassifier.options, input),
    signal: new AbortController().signal, log, gateway: { backends: [] }, baseDir: process.cwd(), keep: keepNothing,
  })

describe('keyword-classifier', () => {
  test('labels the classic rules', async () => {
    const c = await setupWith()
    expect(c.classify(request(['user', 'Add a docstring to this function']), new AbortController().signal)).toMatchObject({ label: 'SIMPLE', task: 'docstring' })
    expect(c.classify(request(['user', 'Explain what a closure is']), new AbortController().signal)).toMatchObject({ label: 'SIMPLE', task: 'explain' })
    expect(c.classify(request(['user', 'Implement a binary search']), new AbortController().signal)).toMatchObject({ label: 'MODERATE', task: 'generate' })
    expect(c.classify(request(['user', 'Refactor the architecture of this service']), new AbortController().signal)).toMatchObject({ label: 'COMPLEX', task: 'refactor' })
  })

  test('falls back to the default class when nothing matches', async () => {
    const c = await setupWith({ default: 'SIMPLE' })
    const out = await c.classify(request(['user', 'hello there']), new AbortController().signal)
    expect(out.label).toBe('SIMPLE')
    expect(out.reasons).toEqual(['no keyword matched'])
  })

  test('accepts regex rules and weights and ignores words inside code blocks', async () => {
    const c = await setupWith({ rules: { COMPLEX: ['/\\bO\\(n log n\\)/'] }, weights: { COMPLEX: 5 } })
    const out = await c.classify(request(['user', 'Write it in O(n log n) please']), new AbortController().signal)
    expect(out.label).toBe('COMPLEX')
    expect(out.reasons[0]).toContain('O\\(n log n\\)')
    const code = await c.classify(request(['user', 'Add comments:\n```js\nfunction design() { refactor() }\n```']), new AbortController().signal)
    expect(code.label).toBe('SIMPLE')
  })

  test('matches whole words only and case-folds', async () => {
    const c = await setupWith({ rules: { SIMPLE: ['format'], MODERATE: [], COMPLEX: [] }, default: 'COMPLEX' })
    expect((await c.classify(request(['user', 'FORMAT this']), new AbortController().signal)).label).toBe('SIMPLE')
    expect((await c.classify(request(['user', 'information please']), new AbortController().signal)).label).toBe('COMPLEX')
  })

  test('rejects unknown options', () => {
    expect(() => v.parse(keywordClassifier.options, { rule: {} })).toThrow()
  })
})
