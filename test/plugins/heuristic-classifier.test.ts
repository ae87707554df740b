/** heuristic-classifier: size, code and structure features decide the class; reasons name them. */
import { describe, expect, test } from 'bun:test'
import * as v from 'valibot'
import type { ChatRequest, Logger } from 'switchyard/plugin'
import heuristicClassifier from '../../plugins/heuristic-classifier/index.ts'
import { extractFeatures } from '../../plugins/heuristic-classifier/features.ts'
import { keepNothing } from 'switchyard/plugin'

const log: Logger = { debug() {}, info() {}, warn() {}, error() {} }
const request = (...messages: [role: string, content: string][]): ChatRequest => ({
  protocol: 'openai', operation: 'chat', model: 'auto', stream: false, body: {},
  messages: messages.map(([role, content]) => ({ role, content })),
})
const setupWith = (input: unknown = {}) =>
  heuristicClassifier.setup({
    name: 'heuristic-classifier', options: v.parse(heuristicClassifier.options, input),
    signal: new AbortController().signal, log, gateway: { backends: [] }, baseDir: process.cwd(), keep: keepNothing,
  })
const signal = new AbortController().signal

const longDesign = [
  'Design and implement a module for a distributed job scheduler.',
  'It must support retries, priorities and cancellation without losing jobs, and it must run in O(n log n) per batch.',
  ...Array.from({ length: 12 }, (_, i) => `- Requirement ${i}: handle edge cases for queue ${i} in scheduler.py and worker_${i}.py`),
  '```python\nclass Scheduler:\n    def submit(self, job): ...\n    def cancel(self, job_id): ...\n```',
  '```python\nclass Worker:\n    def run(self): ...\n```',
].join('\n')

describe('heuristic-classifier', () => {
  test('short questions are SIMPLE, a function spec MODERATE, a long multi-part design COMPLEX', async () => {
    const c = await setupWith()
    expect((await c.classify(request(['user', 'How do I reverse a list in Python?']), signal)).label).toBe('SIMPLE')
    const spec = 'Write a Python function `merge_intervals(intervals)` that takes a list of [start, end] pairs, merges overlapping intervals and returns the merged list sorted by start. Return an empty list for empty input.'
    expect((await c.classify(request(['user', spec]), signal)).label).toBe('MODERATE')
    const out = await c.classify(request(['user', longDesign]), signal)
    expect(out.label).toBe('COMPLEX')
    expect(out.reasons).toContain('2 code blocks')
    expect(out.reasons.some((r) => /^\d+ tokens$/.test(r))).toBe(true)
  })

  test('reads the whole conversation: system prompt and depth are features', () => {
    const f = extractFeatures(request(['system', 'You are terse.'], ['user', 'hi'], ['assistant', 'hello'], ['user', 'Explain recursion?']))
    expect(f.depth).toBe(2)
    expect(f.systemTokens).toBe(4)
    expect(f.question).toBe(true)
  })

  test('bias shifts the decision between classes', async () => {
    const spec = 'Write a Python function that returns the n-th Fibonacci number using iteration, and handle n = 0.'
    const plain = await (await setupWith()).classify(request(['user', spec]), signal)
    const biased = await (await setupWith({ bias: { COMPLEX: 5 } })).classify(request(['user', spec]), signal)
    expect(plain.label).not.toBe('COMPLEX')
    expect(biased.label).toBe('COMPLEX')
  })

  test('scores are probabilities and confidence is the winning score', async () => {
    const out = await (await setupWith()).classify(request(['user', 'What is a tuple?']), signal)
    expect(out.scores.SIMPLE + out.scores.MODERATE + out.scores.COMPLEX).toBeCloseTo(1, 6)
    expect(out.confidence).toBe(out.scores[out.label])
    for (const r of out.reasons) expect(r).toMatch(/^[\x20-\x7e]{1,60}$/)
  })
})
