import { describe, expect, test } from 'bun:test'
import { Ollama } from 'ollama'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway } from '../support/gateway.ts'

describe('Ollama clients through the gateway', () => {
  test('lists the union of backend models plus the virtual auto model', async () => {
    await using a = startSimulator({ instant: true, models: ['qwen2.5-coder:1.5b', 'qwen2.5-coder:7b'] })
    await using b = startSimulator({ instant: true, models: ['deepseek-coder:33b'] })
    await using gw = await startGateway({
      backends: [{ name: 'a', kind: 'ollama', url: a.url }, { name: 'b', kind: 'ollama', url: b.url }],
      plugins: fastProbes,
    })
    const { models } = await new Ollama({ host: gw.url }).list()
    expect(models.map((m) => m.name).sort()).toEqual(['auto', 'deepseek-coder:33b', 'qwen2.5-coder:1.5b', 'qwen2.5-coder:7b'])
    const coder = models.find((m) => m.name === 'qwen2.5-coder:7b')
    expect(coder?.details.parameter_size).toBe('7B')
  })

  test('chat without streaming answers from the named model with final stats', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: fastProbes })
    const res = await new Ollama({ host: gw.url }).chat({
      model: 'qwen2.5-coder:7b', messages: [{ role: 'user', content: 'hello' }], stream: false, options: { num_predict: 5 },
    })
    expect(res.model).toBe('qwen2.5-coder:7b')
    expect(res.done).toBe(true)
    expect(res.eval_count).toBe(5)
    expect(res.message.content.length).toBeGreaterThan(0)
    expect(sim.stats().byModel['qwen2.5-coder:7b']).toBe(1)
  })

  test('chat streams NDJSON chunks ending with done', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: fastProbes })
    const stream = await new Ollama({ host: gw.url }).chat({
      model: 'llama3.2:3b', messages: [{ role: 'user', content: 'count' }], stream: true, options: { num_predict: 6 },
    })
    const parts: string[] = []
    let last: { done: boolean; eval_count?: number; done_reason?: string } | undefined
    for await (const part of stream) {
      parts.push(part.message.content)
      last = part
    }
    expect(parts.length).toBeGreaterThan(3)
    expect(last?.done).toBe(true)
    expect(last?.eval_count).toBe(6)
    expect(last?.done_reason).toBe('length')
  })

  test('generate streams by default and honours stream: false', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: fastProbes })
    const streamed = await fetch(`${gw.url}/api/generate`, { method: 'POST', body: JSON.stringify({ model: 'qwen2.5-coder:1.5b', prompt: 'hi' }) })
    expect(streamed.headers.get('content-type')).toBe('application/x-ndjson')
    const lines = (await streamed.text()).trim().split('\n').map((l) => JSON.parse(l))
    expect(lines.length).toBeGreaterThan(2)
    expect(lines.at(-1).done).toBe(true)
    const whole = await new Ollama({ host: gw.url }).generate({ model: 'qwen2.5-coder:1.5b', prompt: 'hi', stream: false })
    expect(whole.response?.length).toBeGreaterThan(0)
  })

  test('auto routes a docstring request to the small model and says why in headers', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({
      backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }],
      routes: { auto: { SIMPLE: ['qwen2.5-coder:1.5b'], MODERATE: ['qwen2.5-coder:7b'], COMPLEX: ['deepseek-coder:33b'] } },
      plugins: [{ use: 'keyword-classifier' }, ...fastProbes],
    })
    const res = await fetch(`${gw.url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: 'auto', stream: false, messages: [{ role: 'user', content: 'add a docstring to this function' }] }),
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-switchyard-model')).toBe('qwen2.5-coder:1.5b')
    expect(res.headers.get('x-switchyard-backend')).toBe('gpu0')
    expect(res.headers.get('x-switchyard-class')).toBe('SIMPLE')
    expect(res.headers.get('x-switchyard-reason')).toContain('docstring')
    expect((await res.json()).model).toBe('qwen2.5-coder:1.5b')

    const hard = await fetch(`${gw.url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: 'auto', stream: false, messages: [{ role: 'user', content: 'refactor the architecture of this service' }] }),
    })
    expect(hard.headers.get('x-switchyard-class')).toBe('COMPLEX')
    expect(hard.headers.get('x-switchyard-model')).toBe('deepseek-coder:33b')
    await hard.text()
  })

  test('an unknown model is a 404 in Ollama shape that lists what is available', async () => {
    await using sim = startSimulator({ instant: true, models: ['qwen2.5-coder:7b'] })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: fastProbes })
    const res = await fetch(`${gw.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'llama9', messages: [{ role: 'user', content: 'x' }] }) })
    expect(res.status).toBe(404)
    const body = await res.json()
    expect(Object.keys(body)).toEqual(['error'])
    expect(body.error).toContain('llama9')
    expect(body.error).toContain('qwen2.5-coder:7b')
    const client = new Ollama({ host: gw.url })
    await expect(client.chat({ model: 'llama9', messages: [{ role: 'user', content: 'x' }], stream: false })).rejects.toThrow(/llama9.*not found/)
    expect(sim.stats().requests).toBe(0)
  })

  test('a model name without a tag matches the :latest tag, as Ollama does', async () => {
    await using sim = startSimulator({ instant: true, models: ['llama3.2:latest'] })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: fastProbes })
    const res = await new Ollama({ host: gw.url }).chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'x' }], stream: false })
    expect(res.model).toBe('llama3.2:latest')
  })

  test('ps, show and version answer', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: fastProbes })
    const client = new Ollama({ host: gw.url })
    await client.chat({ model: 'qwen2.5-coder:1.5b', messages: [{ role: 'user', content: 'x' }], stream: false })
    await gw.gateway.refresh()
    const ps = await client.ps()
    expect(ps.models.map((m) => m.name)).toContain('qwen2.5-coder:1.5b')
    const show = await client.show({ model: 'qwen2.5-coder:7b' })
    expect(show.details.parameter_size).toBe('7B')
    expect((await client.version()).version).toMatch(/^\d+\.\d+\.\d+/)
  })
})

describe('Ollama legacy embeddings', () => {
  test('POST /api/embeddings answers {embedding} from either backend kind', async () => {
    await using sim = startSimulator({ instant: true })
    for (const kind of ['ollama', 'openai'] as const) {
      await using gw = await startGateway({ backends: [{ name: 'b', kind, url: sim.url }], plugins: fastProbes })
      const res = await fetch(`${gw.url}/api/embeddings`, { method: 'POST', body: JSON.stringify({ model: 'qwen2.5-coder:1.5b', prompt: 'hello world' }) })
      expect(res.status).toBe(200)
      expect(res.headers.get('x-switchyard-backend')).toBe('b')
      const { embedding } = await res.json()
      expect(embedding.length).toBeGreaterThan(8)
      const modern = await (await fetch(`${gw.url}/api/embed`, { method: 'POST', body: JSON.stringify({ model: 'qwen2.5-coder:1.5b', input: 'hello world' }) })).json()
      expect(embedding).toEqual(modern.embeddings[0])
    }
    await using gw = await startGateway({ backends: [{ name: 'b', kind: 'ollama', url: sim.url }], plugins: fastProbes })
    const missing = await fetch(`${gw.url}/api/embeddings`, { method: 'POST', body: JSON.stringify({ model: 'nope', prompt: 'x' }) })
    expect(missing.status).toBe(404)
    expect(typeof (await missing.json()).error).toBe('string')
  })
})
