/** embedding-classifier: nearest examples via the simulator's Ollama and OpenAI embedding routes, with caching. */
import { describe, expect, test } from 'bun:test'
import * as v from 'valibot'
import type { ChatRequest, GatewayInfo, Logger } from 'switchyard/plugin'
import embeddingClassifier from '../../plugins/embedding-classifier/index.ts'
import { startSimulator } from '../../src/sim/server.ts'
import { keepNothing } from 'switchyard/plugin'

const log: Logger = { debug() {}, info() {}, warn() {}, error() {} }
const request = (content: string): ChatRequest => ({
  protocol: 'openai', operation: 'chat', model: 'auto', stream: false, body: {}, messages: [{ role: 'user', content }],
})
const setupWith = (input: unknown, gateway: GatewayInfo = { backends: [] }) =>
  embeddingClassifier.setup({
    name: 'embedding-classifier', options: v.parse(embeddingClassifier.options, input),
    signal: new AbortController().signal, log, gateway, baseDir: process.cwd(), keep: keepNothing,
  })
const signal = new AbortController().signal
const examples = {
  SIMPLE: ['add a docstring to this python function', 'what is the capital city of france'],
  MODERATE: ['write a function that sorts a list of numbers', 'implement binary search on a sorted array'],
  COMPLEX: ['design a distributed database architecture with replication and sharding', 'refactor this large legacy module into services'],
}

describe('embedding-classifier', () => {
  test('labels a prompt by its nearest examples through a named ollama backend', async () => {
    await using sim = startSimulator({ instant: true, models: ['nomic-embed-text'] })
    const c = await setupWith({ backend: 'local', examples, k: 1 }, { backends: [{ name: 'local', kind: 'ollama', url: sim.url }] })
    const out = await c.classify(request('please add a docstring to this python function'), signal)
    expect(out.label).toBe('SIMPLE')
    expect(out.reasons[0]).toBe('nearest 1 examples: 1 SIMPLE')
    const design = await c.classify(request('design a distributed database architecture with sharding'), signal)
    expect(design.label).toBe('COMPLEX')
  })

  test('embeds the examples once and caches prompt embeddings', async () => {
    await using sim = startSimulator({ instant: true, models: ['nomic-embed-text'] })
    const c = await setupWith({ url: sim.url, kind: 'openai', examples, k: 1 })
    expect(sim.stats().requests).toBe(0)
    await c.classify(request('write a function that sorts a list of strings'), signal)
    const afterFirst = sim.stats().requests
    expect(afterFirst).toBe(2)
    const again = await c.classify(request('write a function that sorts a list of strings'), signal)
    expect(again.label).toBe('MODERATE')
    expect(sim.stats().requests).toBe(afterFirst)
  })

  test('setup rejects an unknown backend name, and a down backend fails the request, not setup', async () => {
    expect(() => setupWith({ backend: 'nope' })).toThrow(/backend "nope" is not configured/)
    const c = await setupWith({ url: 'http://127.0.0.1:9', examples, timeoutMs: 500 })
    await expect(c.classify(request('hello'), signal)).rejects.toThrow()
  })
})
