import { describe, expect, test } from 'bun:test'
import * as v from 'valibot'
import semanticCache from '../../plugins/semantic-cache/index.ts'
import { createLogger } from '../../src/log.ts'
import type { CacheEntry, ChatRequest } from '../../src/plugin/types.ts'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway } from '../support/gateway.ts'
import { LABELED_PAIRS } from './near-miss-pairs.ts'
import { ollamaChat, post } from './http.ts'
import { keepNothing, type PluginContext } from 'switchyard/plugin'
import { KeptState } from '../../src/plugin/load.ts'

const EMBED_MODEL = 'nomic-embed-text'
/** The simulator's embeddings are lexical (hashed words and trigrams): paraphrases score lower than with a real model. */
const THRESHOLD = 0.9

const ask = (content: string, model = 'qwen2.5-coder:1.5b'): ChatRequest => ({
  protocol: 'ollama', operation: 'chat', model, messages: [{ role: 'user', content }], stream: false, temperature: 0,
  body: { model, messages: [{ role: 'user', content }], options: { temperature: 0 } },
})

const entry = (model: string): CacheEntry => ({ status: 200, contentType: 'application/json', model, backend: 'gpu0', chunks: ['{}'], createdAt: Date.now() })

async function setupPlugin(url: string, options: Record<string, unknown> = {}, keep: PluginContext<unknown>['keep'] = keepNothing) {
  return await semanticCache.setup({
    name: 'semantic-cache',
    options: v.parse(semanticCache.options, { backend: 'emb', model: EMBED_MODEL, threshold: THRESHOLD, ...options }),
    signal: new AbortController().signal,
    log: createLogger('test', () => {}),
    gateway: { backends: [{ name: 'emb', kind: 'ollama', url }] },
    baseDir: process.cwd(), keep,
  })
}

async function cosine(url: string, a: string, b: string): Promise<number> {
  const res = await fetch(`${url}/api/embed`, { method: 'POST', body: JSON.stringify({ model: EMBED_MODEL, input: [a, b] }) })
  const [x, y] = ((await res.json()) as { embeddings: number[][] }).embeddings
  const norm = (u: number[]) => Math.hypot(...u)
  return x!.reduce((sum, xi, i) => sum + xi * (y![i] ?? 0), 0) / (norm(x!) * norm(y!))
}

describe('semantic-cache', () => {
  test('remembered prompts survive a reload that keeps the embedding model, and not one that changes it', async () => {
    await using sim = startSimulator({ instant: true, models: ['qwen2.5-coder:1.5b', EMBED_MODEL, 'all-minilm'] })
    const kept = new KeptState()
    const signal = new AbortController().signal
    const generation = async (options: Record<string, unknown> = {}) => {
      const gen = kept.generation()
      const cache = await setupPlugin(sim.url, options, (key, create) => gen.keep('semantic-cache', key, create) as never)
      gen.commit()
      return cache
    }
    const first = await generation()
    await first.set('k1', entry('qwen2.5-coder:1.5b'), ask('write a python function that reverses a string'))
    await first.close?.()
    const second = await generation({ threshold: 0.95 })
    expect(await second.get('k2', signal, ask('write a python function that reverses a string'))).toBeDefined()
    const third = await generation({ model: 'all-minilm' })
    expect(await third.get('k3', signal, ask('write a python function that reverses a string'))).toBeUndefined()
  })

  test('on the labeled near-miss set, no near miss is a hit and most paraphrases are', async () => {
    await using sim = startSimulator({ instant: true, models: ['qwen2.5-coder:1.5b', EMBED_MODEL] })
    const cache = await setupPlugin(sim.url)
    const signal = new AbortController().signal
    let falseHits = 0
    let hits = 0
    let thresholdOnlyFalseHits = 0
    const nearMisses = LABELED_PAIRS.filter((p) => !p.shouldHit)
    const paraphrases = LABELED_PAIRS.filter((p) => p.shouldHit)
    for (const [i, pair] of LABELED_PAIRS.entries()) {
      // Each pair gets its own model name, so pairs never see each other's entries.
      const model = `pair-${i}`
      await cache.set(`stored-${i}`, entry(model), ask(pair.stored, model))
      const hit = await cache.get(`asked-${i}`, signal, ask(pair.asked, model))
      if (hit && pair.shouldHit) hits++
      if (hit && !pair.shouldHit) falseHits++
      if (!pair.shouldHit && (await cosine(sim.url, pair.stored, pair.asked)) >= THRESHOLD) thresholdOnlyFalseHits++
      if (hit) expect(hit.similarity).toBeGreaterThanOrEqual(THRESHOLD)
    }
    console.log(
      `semantic-cache labeled set (threshold ${THRESHOLD}, simulator embeddings): near-miss false hits ${falseHits}/${nearMisses.length}; ` +
        `paraphrase hits ${hits}/${paraphrases.length}; without the guards ${thresholdOnlyFalseHits}/${nearMisses.length} near misses would hit`,
    )
    expect(LABELED_PAIRS.length).toBeGreaterThanOrEqual(20)
    expect(falseHits).toBe(0)
    expect(hits).toBeGreaterThanOrEqual(paraphrases.length - 2)
    expect(thresholdOnlyFalseHits).toBeGreaterThan(0)
  })

  test('never answers across models, protocols or parameters', async () => {
    await using sim = startSimulator({ instant: true, models: ['qwen2.5-coder:1.5b', EMBED_MODEL] })
    const cache = await setupPlugin(sim.url)
    const signal = new AbortController().signal
    await cache.set('k1', entry('model-b'), ask('What is the capital of France?', 'model-b'))
    expect(await cache.get('k2', signal, ask('What is the capital of France?', 'model-a'))).toBeUndefined()
    expect(await cache.get('k3', signal, { ...ask('What is the capital of France?', 'model-b'), protocol: 'openai' })).toBeUndefined()
    const other = ask('What is the capital of France?', 'model-b')
    expect(await cache.get('k4', signal, { ...other, body: { ...other.body, options: { temperature: 0, num_predict: 3 } } })).toBeUndefined()
    expect((await cache.get('k5', signal, ask('What is the capital of France', 'model-b')))?.model).toBe('model-b')
  })

  test('through the gateway: an exact miss with a close paraphrase is a semantic hit, a negated prompt is not', async () => {
    await using sim = startSimulator({ instant: true, models: ['qwen2.5-coder:1.5b', 'qwen2.5-coder:7b', EMBED_MODEL] })
    await using gw = await startGateway({
      backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }],
      plugins: [
        { use: 'memory-cache' },
        { use: 'semantic-cache', options: { backend: 'gpu0', model: EMBED_MODEL, threshold: THRESHOLD } },
        ...fastProbes,
      ],
    })
    const url = `${gw.url}/api/chat`
    const first = await post(url, ollamaChat('How do I enable dark mode in VS Code?'))
    expect(first.cache).toBe('miss')
    expect((await post(url, ollamaChat('How do I enable dark mode in VS Code?'))).cache).toBe('hit')
    const paraphrase = await post(url, ollamaChat('How can I enable dark mode in VS Code?'))
    expect(paraphrase.cache).toBe('semantic-hit')
    expect(Number(paraphrase.headers.get('x-switchyard-cache-similarity'))).toBeGreaterThanOrEqual(THRESHOLD)
    expect(paraphrase.text).toBe(first.text)
    const negated = await post(url, ollamaChat('How do I disable dark mode in VS Code?'))
    expect(negated.cache).toBe('miss')
    expect(sim.stats().byModel['qwen2.5-coder:1.5b']).toBe(2)
    const otherModel = await post(url, ollamaChat('How can I enable dark mode in VS Code?', { model: 'qwen2.5-coder:7b' }))
    expect(otherModel.cache).toBe('miss')
    expect(otherModel.model).toBe('qwen2.5-coder:7b')
  })

  test('is consulted only for chat and completion text, not for embeddings', async () => {
    await using sim = startSimulator({ instant: true, models: ['qwen2.5-coder:1.5b', EMBED_MODEL] })
    const cache = await setupPlugin(sim.url)
    const embed: ChatRequest = { ...ask('hello'), operation: 'embed' }
    await cache.set('e1', entry('qwen2.5-coder:1.5b'), embed)
    expect(await cache.get('e2', new AbortController().signal, embed)).toBeUndefined()
    expect(sim.stats().requests).toBe(0)
  })
})
