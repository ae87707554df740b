import { describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway } from '../support/gateway.ts'

const client = (url: string) => new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 })

describe('OpenAI clients through the gateway', () => {
  test('lists models and the virtual auto model', async () => {
    await using sim = startSimulator({ instant: true, models: ['qwen2.5-coder:1.5b', 'qwen2.5-coder:7b'] })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: fastProbes })
    const ids: string[] = []
    for await (const m of client(gw.url).models.list()) ids.push(m.id)
    expect(ids.sort()).toEqual(['auto', 'qwen2.5-coder:1.5b', 'qwen2.5-coder:7b'])
    expect((await client(gw.url).models.retrieve('qwen2.5-coder:7b')).id).toBe('qwen2.5-coder:7b')
  })

  test('chat completion without streaming reports usage', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: fastProbes })
    const res = await client(gw.url).chat.completions.create({ model: 'qwen2.5-coder:7b', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 })
    expect(res.model).toBe('qwen2.5-coder:7b')
    expect(res.choices[0]?.finish_reason).toBe('length')
    expect(res.usage?.completion_tokens).toBe(4)
  })

  test('streamed chat arrives as SSE chunks with usage at the end', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'openai', url: sim.url }], plugins: fastProbes })
    const stream = await client(gw.url).chat.completions.create({
      model: 'llama3.2:3b', messages: [{ role: 'user', content: 'stream please' }], stream: true, stream_options: { include_usage: true }, max_tokens: 5,
    })
    let text = ''
    let usage: OpenAI.CompletionUsage | undefined | null
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? ''
      if (chunk.usage) usage = chunk.usage
    }
    expect(text.length).toBeGreaterThan(0)
    expect(usage?.completion_tokens).toBe(5)
  })

  test('auto routing sets the class, model and reason headers', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({
      backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }],
      routes: { auto: { SIMPLE: ['qwen2.5-coder:1.5b'], MODERATE: ['qwen2.5-coder:7b'], COMPLEX: ['deepseek-coder:33b'] } },
      plugins: [{ use: 'keyword-classifier' }, ...fastProbes],
    })
    const { data, response } = await client(gw.url)
      .chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'implement a function that parses dates' }] })
      .withResponse()
    expect(response.headers.get('x-switchyard-class')).toBe('MODERATE')
    expect(response.headers.get('x-switchyard-model')).toBe('qwen2.5-coder:7b')
    expect(data.model).toBe('qwen2.5-coder:7b')
    expect(response.headers.get('x-switchyard-reason')).toContain('keyword-classifier')
  })

  test('an unknown model is a 404 NotFoundError naming the model and what is available', async () => {
    await using sim = startSimulator({ instant: true, models: ['qwen2.5-coder:7b'] })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: fastProbes })
    const error = await client(gw.url).chat.completions.create({ model: 'gpt-9', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.NotFoundError)
    const e = error as InstanceType<typeof OpenAI.NotFoundError>
    expect(e.status).toBe(404)
    expect(e.message).toContain('gpt-9')
    expect(e.message).toContain('qwen2.5-coder:7b')
    expect(e.code).toBe('model_not_found')
    expect(sim.stats().requests).toBe(0)
  })

  test('bad JSON and a missing model are 400s in OpenAI shape', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: fastProbes })
    const bad = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', body: '{"model":' })
    expect(bad.status).toBe(400)
    expect((await bad.json()).error.type).toBe('invalid_request_error')
    const noModel = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ messages: [{ role: 'user', content: 'x' }] }) })
    expect(noModel.status).toBe(400)
    expect((await noModel.json()).error.message).toContain('`model` is required')
    const empty = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'qwen2.5-coder:7b', messages: [] }) })
    expect(empty.status).toBe(400)
    expect((await empty.json()).error.message).toContain('messages')
  })

  test('completions and embeddings pass through', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: fastProbes })
    const c = await client(gw.url).completions.create({ model: 'qwen2.5-coder:1.5b', prompt: 'def add(a, b):', max_tokens: 3 })
    expect(c.choices[0]?.text.length).toBeGreaterThan(0)
    const e = await client(gw.url).embeddings.create({ model: 'qwen2.5-coder:1.5b', input: ['a', 'b'] })
    expect(e.data.length).toBe(2)
    expect(e.data[0]?.embedding.length).toBeGreaterThan(8)
  })
})
