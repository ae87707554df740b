/** learned-classifier: shipped weights (coverage-gap prompts and conversations included), the bias dial, bad weight files, a train-then-predict round trip. */
import { describe, expect, test } from 'bun:test'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as v from 'valibot'
import type { ChatRequest, Logger } from 'switchyard/plugin'
import learnedClassifier from '../../plugins/learned-classifier/index.ts'
import { keepNothing } from 'switchyard/plugin'

const log: Logger = { debug() {}, info() {}, warn() {}, error() {} }
const request = (content: string): ChatRequest => ({
  protocol: 'openai', operation: 'chat', model: 'auto', stream: false, body: {}, messages: [{ role: 'user', content }],
})
const setupWith = (input: unknown = {}, baseDir = process.cwd()) =>
  learnedClassifier.setup({
    name: 'learned-classifier', options: v.parse(learnedClassifier.options, input),
    signal: new AbortController().signal, log, gateway: { backends: [] }, baseDir, keep: keepNothing,
  })
const signal = new AbortController().signal

const LEETCODE_HARD = `You are given a 0-indexed integer array nums of length n and an integer k. A subarray is called good if it contains at most k distinct values and its maximum minus its minimum is at most k. Return the number of good subarrays modulo 10^9 + 7.

Constraints:
- 1 <= n <= 10^5
- 1 <= nums[i] <= 10^9
- 0 <= k <= n`

// Short requests whose difficulty is in the words, not the length: the gap the supplement and intent features close.
// None of these prompts is in the supplement files.
const GAP_PROMPTS: readonly (readonly [string, 'SIMPLE' | 'MODERATE' | 'COMPLEX'])[] = [
  ['refactor this module into a plugin architecture with dependency injection and tests', 'COMPLEX'],
  ['design a distributed rate limiter for a multi-region API gateway', 'COMPLEX'],
  ['our worker pool deadlocks when two jobs wait on each other; find the race and fix it', 'COMPLEX'],
  ['optimize the search API to handle 20k requests per second with p99 under 50 ms', 'COMPLEX'],
  ['write a docstring for this function', 'SIMPLE'],
  ['rename the variable tmp to total in this loop', 'SIMPLE'],
  ['fix the typo in this comment: "retrun the reuslt"', 'SIMPLE'],
  ['what does Array.prototype.splice return?', 'SIMPLE'],
  ['implement a function that parses ISO 8601 durations into seconds', 'MODERATE'],
  ['write unit tests for this function\n```python\ndef clamp(x, lo, hi):\n    return max(lo, min(x, hi))\n```', 'MODERATE'],
]
const SCHEDULER = Array.from({ length: 100 }, (_, i) => `def task_${i}(queue, lock):\n    with lock:\n        item = queue.pop()\n    return item`).join('\n\n')

describe('learned-classifier', () => {
  test('the shipped weights label typical prompts', async () => {
    const c = await setupWith()
    expect((await c.classify(request('How do I get the last element of a list in Python?'), signal)).label).toBe('SIMPLE')
    expect((await c.classify(request('Write a function to find the shared elements from the given two lists.'), signal)).label).toBe('MODERATE')
    const hard = await c.classify(request(LEETCODE_HARD), signal)
    expect(hard.label).toBe('COMPLEX')
    expect(hard.reasons[0]).toMatch(/^learned p=[01]\.\d\d$/)
  })

  test('the shipped weights route short design, refactor, concurrency and scale requests by intent, not length', async () => {
    const c = await setupWith()
    const got = await Promise.all(GAP_PROMPTS.map(async ([prompt]) => [prompt, (await c.classify(request(prompt), signal)).label]))
    expect(got).toEqual(GAP_PROMPTS.map(([prompt, label]) => [prompt, label]))
  })

  test('a simple request over a large pasted file is MODERATE: the context is big, the ask is not', async () => {
    const c = await setupWith()
    const out = await c.classify(request(`write a docstring for this 400-line concurrent scheduler\n\`\`\`python\n${SCHEDULER}\n\`\`\``), signal)
    expect(out.label).toBe('MODERATE')
  })

  test('the shipped weights label a short follow-up by its conversation, not by its own words', async () => {
    // Written for this test: none of these conversations is in the multi-turn files.
    const contexts: readonly (readonly [string, 'SIMPLE' | 'MODERATE' | 'COMPLEX', readonly [string, string][]])[] = [
      ['design', 'COMPLEX', [
        ['user', 'Design a multi-region event store for an order system: sharded by customer id, replicated across regions, with failover and exactly-once consumers.'],
        ['assistant', 'Shard by customer id; each region owns a slice. Replicate asynchronously and promote a replica on failover. Consumers dedupe with idempotency keys. Trade-off: cross-region ordering is per key only.'],
      ]],
      ['function', 'MODERATE', [
        ['user', 'Write a Python function that merges overlapping intervals.'],
        ['assistant', '```python\ndef merge(intervals):\n    intervals.sort()\n    out = []\n    for s, e in intervals:\n        if out and s <= out[-1][1]:\n            out[-1][1] = max(out[-1][1], e)\n        else:\n            out.append([s, e])\n    return out\n```'],
      ]],
      ['trivia', 'SIMPLE', [['user', 'what does len([]) return in Python?'], ['assistant', 'It returns 0.\n```python\nlen([])\n```']]],
    ]
    const c = await setupWith()
    for (const followUp of ['can you make it shorter?', 'ok, go ahead']) {
      const got = await Promise.all(contexts.map(async ([name, , turns]) => {
        const messages = [...turns, ['user', followUp] as const].map(([role, content]) => ({ role, content }))
        return [name, (await c.classify({ ...request(followUp), messages }, signal)).label]
      }))
      expect(got).toEqual(contexts.map(([name, label]) => [name, label]))
    }
  })

  test('a negative COMPLEX bias routes the same prompt to a cheaper class', async () => {
    const out = await (await setupWith({ bias: { COMPLEX: -20 } })).classify(request(LEETCODE_HARD), signal)
    expect(out.label).not.toBe('COMPLEX')
    expect(out.reasons).toContain('bias COMPLEX -20')
  })

  test('a missing or malformed weights file fails setup with the path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'learned-'))
    try {
      await Bun.write(join(dir, 'bad.json'), '{"format":"nope"}')
      await expect(setupWith({ weights: 'missing.json' }, dir)).rejects.toThrow(/missing\.json/)
      await expect(setupWith({ weights: 'bad.json' }, dir)).rejects.toThrow(/bad\.json is not a weights file/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('weights trained by scripts/train.ts load and predict their training classes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'learned-train-'))
    try {
      const rows = Array.from({ length: 90 }, (_, i) => {
        const label = (['SIMPLE', 'MODERATE', 'COMPLEX'] as const)[i % 3]!
        const prompt = label === 'SIMPLE' ? `what is the color of item ${i}?`
          : label === 'MODERATE' ? `write a function that sorts list number ${i} and returns it`
          : `design a distributed scheduler service ${i} with failover, sharding and a consensus protocol; it must scale`
        return JSON.stringify({ id: `row-${i}`, prompt, label, source: 'generated', license: 'MIT' })
      })
      await Bun.write(join(dir, 'train.jsonl'), rows.join('\n'))
      const proc = Bun.spawnSync([process.execPath, 'scripts/train.ts', '--data', join(dir, 'train.jsonl'), '--out', join(dir, 'w.json'), '--seed', '7', '--epochs', '20'], { stdout: 'pipe', stderr: 'pipe' })
      expect(proc.exitCode).toBe(0)
      const c = await setupWith({ weights: 'w.json' }, dir)
      expect((await c.classify(request('what is the color of item 500?'), signal)).label).toBe('SIMPLE')
      expect((await c.classify(request('write a function that sorts list number 77 and returns it'), signal)).label).toBe('MODERATE')
      expect((await c.classify(request('design a distributed scheduler service with sharding; it must scale'), signal)).label).toBe('COMPLEX')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
