import { describe, expect, test } from 'bun:test'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway } from '../support/gateway.ts'
import { ollamaChat, openaiChat, post } from './http.ts'

const memory = { use: 'memory-cache', options: {} }

describe('streamed answers in the cache', () => {
  test('an NDJSON stream is replayed from the cache byte for byte, with the same framing', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: [memory, ...fastProbes] })
    const body = ollamaChat('stream me', { stream: true })
    const first = await post(`${gw.url}/api/chat`, body)
    const second = await post(`${gw.url}/api/chat`, body)
    expect(first.cache).toBe('miss')
    expect(second.cache).toBe('hit')
    expect(second.headers.get('content-type')).toBe(first.headers.get('content-type'))
    expect(second.headers.get('content-type')).toBe('application/x-ndjson')
    expect(second.text).toBe(first.text)
    const lines = second.text.trim().split('\n').map((l) => JSON.parse(l))
    expect(lines.length).toBeGreaterThan(2)
    expect(lines.at(-1).done).toBe(true)
    expect(sim.stats().requests).toBe(1)
  })

  test('an SSE stream is replayed from the cache byte for byte, ending with [DONE]', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'openai', url: sim.url }], plugins: [memory, ...fastProbes] })
    const body = openaiChat('stream me', { stream: true })
    const first = await post(`${gw.url}/v1/chat/completions`, body)
    const second = await post(`${gw.url}/v1/chat/completions`, body)
    expect(first.cache).toBe('miss')
    expect(second.cache).toBe('hit')
    expect(second.headers.get('content-type')).toContain('text/event-stream')
    expect(second.text).toBe(first.text)
    expect(second.text.trimEnd().endsWith('data: [DONE]')).toBe(true)
    expect(sim.stats().requests).toBe(1)
  })

  test('an SSE stream translated to NDJSON for an Ollama client replays as NDJSON', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ backends: [{ name: 'vllm', kind: 'openai', url: sim.url }], plugins: [memory, ...fastProbes] })
    const body = ollamaChat('translated', { stream: true })
    const first = await post(`${gw.url}/api/chat`, body)
    const second = await post(`${gw.url}/api/chat`, body)
    expect(second.cache).toBe('hit')
    expect(second.text).toBe(first.text)
    expect(JSON.parse(second.text.trim().split('\n').at(-1) ?? '{}').done).toBe(true)
  })

  test('a stream cut off mid-way is never stored', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: [memory, ...fastProbes] })
    await fetch(`${sim.url}/sim/faults`, { method: 'POST', body: JSON.stringify({ fault: 'drop-mid-stream', count: 1 }) })
    const body = ollamaChat('fragile', { stream: true })
    const cut = await post(`${gw.url}/api/chat`, body)
    expect(cut.status).toBe(200)
    expect(cut.text.trim().split('\n').at(-1)).toContain('"error"')
    const next = await post(`${gw.url}/api/chat`, body)
    expect(next.cache).toBe('miss')
    expect(JSON.parse(next.text.trim().split('\n').at(-1) ?? '{}').done).toBe(true)
    expect((await post(`${gw.url}/api/chat`, body)).cache).toBe('hit')
    expect(sim.stats().requests).toBe(2)
  })
})

describe('single-flight', () => {
  test('five identical concurrent requests share one upstream generation', async () => {
    await using sim = startSimulator({ models: ['qwen2.5-coder:1.5b'] })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: [memory, ...fastProbes] })
    const answers = await Promise.all(Array.from({ length: 5 }, () => post(`${gw.url}/api/chat`, ollamaChat('together'))))
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200])
    expect(new Set(answers.map((a) => a.text)).size).toBe(1)
    expect(answers.filter((a) => a.headers.get('x-switchyard-single-flight') === 'follower').length).toBe(4)
    expect(sim.stats().requests).toBe(1)
  })

  test('followers of a stream get every chunk in order, including those sent before they joined', async () => {
    await using sim = startSimulator({ models: ['qwen2.5-coder:1.5b'] })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'openai', url: sim.url }], plugins: [memory, ...fastProbes] })
    const body = JSON.stringify(openaiChat('share the stream', { stream: true, max_tokens: 40 }))
    const send = () => fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', body, headers: { 'content-type': 'application/json' } })
    const leader = await send()
    const reader = leader.body!.getReader()
    const decoder = new TextDecoder()
    const first = await reader.read()
    let leaderText = decoder.decode(first.value, { stream: true })
    expect(leaderText).toContain('data: ')
    const followers = Array.from({ length: 4 }, async () => {
      const res = await send()
      return { role: res.headers.get('x-switchyard-single-flight'), text: await res.text() }
    })
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      leaderText += decoder.decode(value, { stream: true })
    }
    const shared = await Promise.all(followers)
    expect(leaderText.trimEnd().endsWith('data: [DONE]')).toBe(true)
    for (const f of shared) {
      expect(f.role).toBe('follower')
      expect(f.text).toBe(leaderText)
    }
    expect(sim.stats().requests).toBe(1)
  })

  test('when the shared stream fails, every follower gets the same error and nothing is stored', async () => {
    await using sim = startSimulator({ models: ['qwen2.5-coder:1.5b'] })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: [memory, ...fastProbes] })
    await fetch(`${sim.url}/sim/faults`, { method: 'POST', body: JSON.stringify({ fault: 'drop-mid-stream', count: 1 }) })
    const body = ollamaChat('fail together', { stream: true })
    const answers = await Promise.all(Array.from({ length: 3 }, () => post(`${gw.url}/api/chat`, body)))
    expect(sim.stats().requests).toBe(1)
    for (const a of answers) {
      expect(a.status).toBe(200)
      expect(a.text).toBe(answers[0]!.text)
      expect(a.text.trim().split('\n').at(-1)).toContain('"error"')
    }
    const retry = await post(`${gw.url}/api/chat`, body)
    expect(retry.cache).toBe('miss')
    expect(JSON.parse(retry.text.trim().split('\n').at(-1) ?? '{}').done).toBe(true)
  })

  test('requests that bypass the cache are not merged', async () => {
    await using sim = startSimulator({ models: ['qwen2.5-coder:1.5b'] })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: [memory, ...fastProbes] })
    const body = { ...ollamaChat('each their own'), options: { temperature: 0.9, num_predict: 4 } }
    await Promise.all(Array.from({ length: 3 }, () => post(`${gw.url}/api/chat`, body)))
    expect(sim.stats().requests).toBe(3)
  })
})
