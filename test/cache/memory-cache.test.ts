import { describe, expect, test } from 'bun:test'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway } from '../support/gateway.ts'
import { until } from '../support/until.ts'
import { ollamaChat, openaiChat, post } from './http.ts'

const memory = (options: Record<string, unknown> = {}) => ({ use: 'memory-cache', options })

describe('memory-cache through the gateway', () => {
  test('a repeated deterministic request is a miss, then a hit served without the backend', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: [memory(), ...fastProbes] })
    const first = await post(`${gw.url}/api/chat`, ollamaChat('hello cache'))
    const second = await post(`${gw.url}/api/chat`, ollamaChat('hello cache'))
    expect(first.status).toBe(200)
    expect(first.cache).toBe('miss')
    expect(second.status).toBe(200)
    expect(second.cache).toBe('hit')
    expect(second.model).toBe('qwen2.5-coder:1.5b')
    expect(second.text).toBe(first.text)
    expect(sim.stats().requests).toBe(1)
  })

  test('output-changing parameters and the protocol are part of the key', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: [memory(), ...fastProbes] })
    expect((await post(`${gw.url}/api/chat`, ollamaChat('key test'))).cache).toBe('miss')
    expect((await post(`${gw.url}/api/chat`, ollamaChat('key test', { options: { temperature: 0, num_predict: 9 } }))).cache).toBe('miss')
    expect((await post(`${gw.url}/v1/chat/completions`, openaiChat('key test'))).cache).toBe('miss')
    expect((await post(`${gw.url}/api/chat`, ollamaChat('key test', { keep_alive: '1m' }))).cache).toBe('hit')
    expect(sim.stats().requests).toBe(3)
  })

  test('non-deterministic requests bypass the cache unless cacheNondeterministic is set', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: [memory(), ...fastProbes] })
    // OpenAI's temperature defaults to 1 when omitted: not deterministic.
    const body = { model: 'qwen2.5-coder:1.5b', max_tokens: 4, messages: [{ role: 'user', content: 'creative' }] }
    expect((await post(`${gw.url}/v1/chat/completions`, body)).cache).toBe('bypass')
    expect((await post(`${gw.url}/v1/chat/completions`, body)).cache).toBe('bypass')
    expect((await post(`${gw.url}/v1/chat/completions`, { ...body, temperature: 0.7, seed: 42 })).cache).toBe('miss')
    expect((await post(`${gw.url}/v1/chat/completions`, { ...body, temperature: 0.7, seed: 42 })).cache).toBe('hit')
    expect(sim.stats().requests).toBe(3)

    await using sim2 = startSimulator({ instant: true })
    await using gw2 = await startGateway({
      backends: [{ name: 'gpu0', kind: 'ollama', url: sim2.url }], plugins: [memory({ cacheNondeterministic: true }), ...fastProbes],
    })
    expect((await post(`${gw2.url}/v1/chat/completions`, body)).cache).toBe('miss')
    expect((await post(`${gw2.url}/v1/chat/completions`, body)).cache).toBe('hit')
    expect(sim2.stats().requests).toBe(1)
  })

  test('Cache-Control no-cache skips the lookup but stores; no-store does neither', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: [memory(), ...fastProbes] })
    const url = `${gw.url}/api/chat`
    expect((await post(url, ollamaChat('controls'), { 'cache-control': 'no-store' })).cache).toBe('bypass')
    expect((await post(url, ollamaChat('controls'))).cache).toBe('miss')
    expect((await post(url, ollamaChat('controls'), { 'cache-control': 'no-cache' })).cache).toBe('bypass')
    expect(sim.stats().requests).toBe(3)
    expect((await post(url, ollamaChat('controls'))).cache).toBe('hit')

    expect((await post(url, ollamaChat('fresh'), { 'cache-control': 'no-cache' })).cache).toBe('bypass')
    expect((await post(url, ollamaChat('fresh'))).cache).toBe('hit')
    expect((await post(url, ollamaChat('never kept'), { 'cache-control': 'no-store' })).cache).toBe('bypass')
    expect((await post(url, ollamaChat('never kept'))).cache).toBe('miss')
    expect(sim.stats().requests).toBe(6)
  })

  test('an entry expires after ttlMs', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: [memory({ ttlMs: 100 }), ...fastProbes] })
    const url = `${gw.url}/api/chat`
    expect((await post(url, ollamaChat('short lived'))).cache).toBe('miss')
    expect((await post(url, ollamaChat('short lived'))).cache).toBe('hit')
    // Each miss stores a fresh entry, so poll until a request finds the entry gone.
    await until(async () => (await post(url, ollamaChat('short lived'))).cache === 'miss', 3_000, 'the entry to expire')
  })

  test('an answer from a fallback model is never served to a request pinned to another model', async () => {
    await using a = startSimulator({ instant: true, models: ['deepseek-coder:33b'] })
    await using b = startSimulator({ instant: true, models: ['qwen2.5-coder:7b'] })
    await using gw = await startGateway({
      backends: [{ name: 'a', kind: 'ollama', url: a.url }, { name: 'b', kind: 'ollama', url: b.url }],
      models: { 'deepseek-coder:33b': { backends: ['a'], fallbacks: ['qwen2.5-coder:7b'] } },
      plugins: [memory(), ...fastProbes],
    })
    await fetch(`${a.url}/sim/faults`, { method: 'POST', body: JSON.stringify({ fault: 'status-500', count: 1 }) })
    const pinned = ollamaChat('who answers', { model: 'deepseek-coder:33b' })
    const fallback = await post(`${gw.url}/api/chat`, pinned)
    expect(fallback.status).toBe(200)
    expect(fallback.model).toBe('qwen2.5-coder:7b')
    const again = await post(`${gw.url}/api/chat`, pinned)
    expect(again.cache).toBe('miss')
    expect(again.model).toBe('deepseek-coder:33b')
    expect(JSON.parse(again.text).model).toBe('deepseek-coder:33b')
    // The same prompt for model B is its own entry, and B's entry never answers A.
    expect((await post(`${gw.url}/api/chat`, { ...pinned, model: 'qwen2.5-coder:7b' })).cache).toBe('miss')
    const third = await post(`${gw.url}/api/chat`, pinned)
    expect(third.cache).toBe('hit')
    expect(third.model).toBe('deepseek-coder:33b')
  })
})
