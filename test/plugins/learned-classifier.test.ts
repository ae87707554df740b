/** learned-classifier: shipped weights, the bias dial, bad weight files, and a train-then-predict round trip. */
import { describe, expect, test } from 'bun:test'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as v from 'valibot'
import type { ChatRequest, Logger } from 'switchyard/plugin'
import learnedClassifier from '../../plugins/learned-classifier/index.ts'

const log: Logger = { debug() {}, info() {}, warn() {}, error() {} }
const request = (content: string): ChatRequest => ({
  protocol: 'openai', operation: 'chat', model: 'auto', stream: false, body: {}, messages: [{ role: 'user', content }],
})
const setupWith = (input: unknown = {}, baseDir = process.cwd()) =>
  learnedClassifier.setup({
    name: 'learned-classifier', options: v.parse(learnedClassifier.options, input),
    signal: new AbortController().signal, log, gateway: { backends: [] }, baseDir,
  })
const signal = new AbortController().signal

const LEETCODE_HARD = `You are given a 0-indexed integer array nums of length n and an integer k. A subarray is called good if it contains at most k distinct values and its maximum minus its minimum is at most k. Return the number of good subarrays modulo 10^9 + 7.

Constraints:
- 1 <= n <= 10^5
- 1 <= nums[i] <= 10^9
- 0 <= k <= n`

describe('learned-classifier', () => {
  test('the shipped weights label typical prompts', async () => {
    const c = await setupWith()
    expect((await c.classify(request('How do I get the last element of a list in Python?'), signal)).label).toBe('SIMPLE')
    expect((await c.classify(request('Write a function to find the shared elements from the given two lists.'), signal)).label).toBe('MODERATE')
    const hard = await c.classify(request(LEETCODE_HARD), signal)
    expect(hard.label).toBe('COMPLEX')
    expect(hard.reasons[0]).toMatch(/^learned p=0\.\d\d$/)
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
