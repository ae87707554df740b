/** llm-auditor: a judge model's "SCORE: N" becomes the score; a judge that fails, hangs or rambles lets the draft pass. */
import { describe, expect, test } from 'bun:test'
import * as v from 'valibot'
import { keepNothing } from 'switchyard/plugin'
import type { AuditAnswer, ChatRequest, Logger } from 'switchyard/plugin'
import llmAuditor from '../../plugins/llm-auditor/index.ts'
import { parseScore } from '../../plugins/llm-auditor/parse-score.ts'
import { startSimulator } from '../../src/sim/server.ts'
import { until } from '../support/until.ts'

const log: Logger = { debug() {}, info() {}, warn() {}, error() {} }
const request = (content: string): ChatRequest => ({
  protocol: 'openai', operation: 'chat', model: 'auto', stream: false, body: {},
  messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content }],
})
const draft: AuditAnswer = { text: '  def add(a, b):\n    return a + b\n', model: 'qwen2.5-coder:1.5b', finishReason: 'stop' }
const setupWith = (input: unknown) =>
  llmAuditor.setup({
    name: 'llm-auditor', options: v.parse(llmAuditor.options, input),
    signal: new AbortController().signal, log, gateway: { backends: [] }, baseDir: process.cwd(), keep: keepNothing,
  })
const signal = new AbortController().signal
/** Hard and easy prompts: a 1.5B model answers some of the hard ones badly in the simulator's quality mode. */
const QUALITY_PROMPTS = [
  'Design a distributed, fault-tolerant job scheduler with consensus (Raft) and explain how it handles network partitions and deadlocks.',
  'Write a complete thread-safe LRU cache in Python with a lock-free read path and explain its performance.',
  'Refactor this module for performance and security; migrate it to async and debug the race condition in the worker pool.',
  'Implement a compiler front end for a small language: lexer, parser and type checker, with full error recovery.',
  'Design a scalable, consistent distributed cache with a migration plan and a proof of its consistency under partitions.',
  'Optimize this SQL query for latency and explain the design of the index you add, with a complete migration.',
  'Write a complete production-ready HTTP server in Go with graceful shutdown, rate limiting and structured logging.',
  'Debug this deadlock in my Java thread pool and refactor it to be lock-free and thread-safe.',
  'Design a secure, scalable event-sourcing architecture with consistent snapshots and a zero-downtime migration path.',
  'Write a comprehensive, thread-safe connection pool in TypeScript with performance benchmarks and fault tolerance.',
  'Write a Python function that reverses a string.',
  'What is a tuple?',
  'Add a docstring to this function: def f(x): return x * 2',
  'Explain the difference between a process and a thread.',
]
const queueFault = (url: string, fault: string) =>
  fetch(`${url}/sim/faults`, { method: 'POST', body: JSON.stringify({ fault, count: 1 }) })

describe('llm-auditor', () => {
  test('asks the judge once, in the tagged format, and scores its "SCORE: N" out of 10', async () => {
    const bodies: Record<string, unknown>[] = []
    using judge = Bun.serve({
      port: 0, hostname: '127.0.0.1',
      async fetch(req) {
        bodies.push((await req.json()) as Record<string, unknown>)
        return Response.json({ message: { role: 'assistant', content: 'SCORE: 3\nMisses negative numbers.' }, done: true, total_duration: 1_500_000_000 })
      },
    })
    const auditor = await setupWith({ url: `http://127.0.0.1:${judge.port}`, model: 'judge:7b' })
    const out = await auditor.audit(request('Write add(a, b) in Python.'), draft, signal)
    expect(out).toEqual({ score: 0.3, reasons: ['judge:7b scored 3/10: Misses negative numbers.'], gpuSeconds: 1.5 })
    expect(bodies).toHaveLength(1)
    expect(bodies[0]).toMatchObject({ model: 'judge:7b', stream: false, options: { temperature: 0, num_predict: 48 } })
    const messages = bodies[0]!.messages as { role: string; content: string }[]
    expect(messages.map((m) => m.role)).toEqual(['system', 'user'])
    expect(messages[1]!.content).toBe([
      '<task>', '[system]', 'Be brief.', '', '[user]', 'Write add(a, b) in Python.', '</task>',
      '<answer>', draft.text, '</answer>',
      'Reply with "SCORE: <0-10>" on the first line, then one short reason.',
    ].join('\n'))
    expect(auditor.timeoutMs).toBeGreaterThan(5000)
  })

  test('a judge replying with random words (the simulator without quality mode) lets the draft pass', async () => {
    await using sim = startSimulator({ instant: true })
    for (const kind of ['ollama', 'openai']) {
      const out = await (await setupWith({ url: sim.url, kind })).audit(request('Write add(a, b) in Python.'), draft, signal)
      expect(out.score).toBe(1)
      expect(out.reasons).toHaveLength(1)
      expect(out.reasons[0]).toStartWith("judge qwen2.5-coder:7b failed: unparseable reply '[qwen2.5-coder:7b] ")
      expect(out.reasons[0]).toEndWith('(draft passes)')
      expect(out.gpuSeconds).toBeGreaterThanOrEqual(0)
    }
    expect(sim.stats().byModel['qwen2.5-coder:7b']).toBe(2)
  })

  test('a hanging judge lets the draft pass once timeoutMs is up, and the judge call is cancelled', async () => {
    await using sim = startSimulator({ instant: true })
    await queueFault(sim.url, 'hang')
    const auditor = await setupWith({ url: sim.url, timeoutMs: 150 })
    // A judge that never answers: only the plugin's own timeout ends this call (the test would hang otherwise).
    const out = await auditor.audit(request('x'), draft, signal)
    expect(out.score).toBe(1)
    expect(out.reasons).toEqual(['judge qwen2.5-coder:7b failed: no verdict within 150 ms (draft passes)'])
    expect(auditor.timeoutMs).toBe(150 + 250)
    await until(() => sim.stats().aborted === 1)
  })

  test('a judge answering HTTP 500 lets the draft pass with the status in the reason', async () => {
    await using sim = startSimulator({ instant: true })
    await queueFault(sim.url, 'status-500')
    const out = await (await setupWith({ url: sim.url, kind: 'openai' })).audit(request('x'), draft, signal)
    expect(out.score).toBe(1)
    expect(out.reasons).toEqual([`judge qwen2.5-coder:7b failed: ${sim.url}/v1/chat/completions answered 500 (draft passes)`])
  })

  test('a client that leaves aborts the judge call', async () => {
    await using sim = startSimulator({ instant: true })
    await queueFault(sim.url, 'hang')
    const client = new AbortController()
    const pending = (await setupWith({ url: sim.url })).audit(request('x'), draft, client.signal)
    await until(() => sim.stats().active === 1)
    client.abort()
    const out = await pending
    expect(out.reasons).toEqual(['judge qwen2.5-coder:7b failed: the request was aborted (draft passes)'])
    await until(() => sim.stats().aborted === 1)
  })

  test('in quality mode, a 33B judge scores the drafts the simulator made bad low and the good ones high (mostly)', async () => {
    await using sim = startSimulator({ quality: true, instant: true })
    const auditor = await setupWith({ url: sim.url, model: 'deepseek-coder:33b' })
    const outcomes = { bad: { n: 0, low: 0 }, good: { n: 0, high: 0 } }
    for (const prompt of QUALITY_PROMPTS) {
      const res = await fetch(`${sim.url}/api/chat`, {
        method: 'POST', body: JSON.stringify({ model: 'qwen2.5-coder:1.5b', stream: false, messages: [{ role: 'user', content: prompt }] }),
      })
      const quality = res.headers.get('x-sim-quality') ?? ''
      const reply = (await res.json()) as { message: { content: string }; done_reason: string }
      const drafted: AuditAnswer = { text: reply.message.content, model: 'qwen2.5-coder:1.5b', finishReason: reply.done_reason }
      const out = await auditor.audit(request(prompt), drafted, signal)
      expect(out.reasons[0]).toStartWith('deepseek-coder:33b scored ')
      if (quality === 'good') {
        outcomes.good.n++
        if (out.score >= 0.5) outcomes.good.high++
      } else {
        outcomes.bad.n++
        if (out.score < 0.5) outcomes.bad.low++
      }
    }
    expect(outcomes.bad.n).toBeGreaterThanOrEqual(2)
    expect(outcomes.good.n).toBeGreaterThanOrEqual(5)
    expect(outcomes.bad.low / outcomes.bad.n).toBeGreaterThanOrEqual(0.6)
    expect(outcomes.good.high / outcomes.good.n).toBeGreaterThanOrEqual(0.7)
  })

  test('reads the score in the formats judges write', () => {
    const table: readonly (readonly [reply: string, score: number | undefined, reason?: string])[] = [
      ['SCORE: 7\nCorrect but no tests.', 0.7, 'Correct but no tests.'],
      ['Score - 7/10', 0.7],
      ['**Score:** 8 out of 10 - handles the edge cases', 0.8, 'handles the edge cases'],
      ['score=2.5\nwrong language', 0.25, 'wrong language'],
      ['7/10, mostly right', 0.7, 'mostly right'],
      ['9\nGood.', 0.9, 'Good.'],
      ['I would give it 6/10 overall.', 0.6],
      ['SCORE: 4/5', 0.8],
      ['SCORE: 14', 1],
      ['<think>maybe SCORE: 2</think>SCORE: 9\nfine', 0.9, 'fine'],
      ['[qwen2.5-coder:7b] function returns the value of a list.', undefined],
      ['It looks fine to me.', undefined],
    ]
    for (const [reply, score, reason] of table) {
      const verdict = parseScore(reply)
      expect({ reply, score: verdict?.score }).toEqual({ reply, score })
      if (reason !== undefined) expect(verdict?.reason).toBe(reason)
    }
  })
})
