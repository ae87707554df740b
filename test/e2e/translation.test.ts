import { describe, expect, test } from 'bun:test'
import { Ollama } from 'ollama'
import OpenAI from 'openai'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway } from '../support/gateway.ts'

describe('translation between the Ollama and OpenAI protocols', () => {
  test('an Ollama chat client is served by an OpenAI-only backend, streaming and not', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ backends: [{ name: 'vllm', kind: 'openai', url: sim.url }], plugins: fastProbes })
    const ollama = new Ollama({ host: gw.url })
    const whole = await ollama.chat({ model: 'qwen2.5-coder:7b', messages: [{ role: 'user', content: 'hi' }], stream: false, options: { num_predict: 4 } })
    expect(whole.message.role).toBe('assistant')
    expect(whole.message.content.length).toBeGreaterThan(0)
    expect(whole.done_reason).toBe('length')
    expect(whole.eval_count).toBe(4)

    const parts: { done: boolean; eval_count?: number; message: { content: string } }[] = []
    for await (const part of await ollama.chat({ model: 'qwen2.5-coder:7b', messages: [{ role: 'user', content: 'hi' }], stream: true, options: { num_predict: 4 } })) parts.push(part)
    expect(parts.at(-1)?.done).toBe(true)
    expect(parts.at(-1)?.eval_count).toBe(4)
    expect(parts.slice(0, -1).map((p) => p.message.content).join('')).toBe(whole.message.content)
    expect(sim.stats().byModel['qwen2.5-coder:7b']).toBe(2)
  })

  test('Ollama generate and embed are served by an OpenAI-only backend', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ backends: [{ name: 'vllm', kind: 'openai', url: sim.url }], plugins: fastProbes })
    const ollama = new Ollama({ host: gw.url })
    const gen = await ollama.generate({ model: 'llama3.2:3b', prompt: 'hello', stream: false, options: { num_predict: 3 } })
    expect(gen.response?.length).toBeGreaterThan(0)
    expect(gen.eval_count).toBe(3)
    const streamed: string[] = []
    for await (const part of await ollama.generate({ model: 'llama3.2:3b', prompt: 'hello', stream: true, options: { num_predict: 3 } })) streamed.push(part.response ?? '')
    expect(streamed.join('')).toBe(gen.response ?? '')
    const emb = await ollama.embed({ model: 'llama3.2:3b', input: ['one', 'two'] })
    expect(emb.embeddings.length).toBe(2)
  })

  test('an OpenAI client is served by an Ollama backend through its /v1 endpoints', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: fastProbes })
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'x', maxRetries: 0 })
    let text = ''
    for await (const chunk of await openai.chat.completions.create({ model: 'qwen2.5-coder:7b', messages: [{ role: 'user', content: 'hi' }], stream: true })) {
      text += chunk.choices[0]?.delta.content ?? ''
    }
    expect(text.length).toBeGreaterThan(0)
  })

  test('an upstream error from an OpenAI backend reaches an Ollama client in Ollama shape', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({
      backends: [{ name: 'vllm', kind: 'openai', url: sim.url }],
      models: { 'qwen2.5-coder:7b': { backends: ['vllm'] }, 'not-on-server:1b': { backends: ['vllm'] } },
      plugins: fastProbes,
    })
    const res = await fetch(`${gw.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'not-on-server:1b', messages: [{ role: 'user', content: 'x' }] }) })
    expect(res.status).toBe(404)
    const body = await res.json()
    expect(typeof body.error).toBe('string')
    expect(body.error).toContain('not-on-server')
  })
})

describe('tool calls between the protocols', () => {
  test('an Ollama client with tools gets whole tool calls from an OpenAI backend that streams them in pieces', async () => {
    const seen: Record<string, unknown>[] = []
    const chunk = (delta: unknown, finish: string | null = null) =>
      `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm1', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`
    await using upstream = Bun.serve({
      port: 0, hostname: '127.0.0.1',
      async fetch(req) {
        if (new URL(req.url).pathname === '/v1/models') return Response.json({ object: 'list', data: [{ id: 'm1', object: 'model', created: 0, owned_by: 'x' }] })
        if (req.method !== 'POST') return new Response('not found', { status: 404 })
        seen.push((await req.json()) as Record<string, unknown>)
        const frames = [
          chunk({ role: 'assistant', content: '' }),
          chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
          chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city": "Par' } }] }),
          chunk({ tool_calls: [{ index: 0, function: { arguments: 'is"}' } }] }),
          chunk({}, 'tool_calls'),
          'data: [DONE]\n\n',
        ]
        return new Response(frames.join(''), { headers: { 'content-type': 'text/event-stream' } })
      },
    })
    await using gw = await startGateway({ backends: [{ name: 'vllm', kind: 'openai', url: `http://127.0.0.1:${upstream.port}` }], plugins: fastProbes })
    const tools = [{ type: 'function', function: { name: 'get_weather', description: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }]
    const parts = []
    for await (const part of await new Ollama({ host: gw.url }).chat({
      model: 'm1', stream: true, tools,
      messages: [
        { role: 'user', content: 'weather in Paris and Rome?' },
        { role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Rome' } } }] },
        { role: 'tool', content: '18 C' },
      ],
    })) parts.push(part)
    const calls = parts.flatMap((p) => p.message.tool_calls ?? [])
    expect(calls).toEqual([{ function: { name: 'get_weather', arguments: { city: 'Paris' } } }])
    expect(parts.at(-1)?.done).toBe(true)
    const sent = seen[0] as { tools: unknown[]; messages: { role: string; tool_calls?: { id: string; function: { arguments: string } }[]; tool_call_id?: string }[] }
    expect(sent.tools).toEqual(tools)
    expect(sent.messages[1]?.tool_calls?.[0]).toMatchObject({ id: 'call_0', function: { arguments: '{"city":"Rome"}' } })
    expect(sent.messages[2]).toMatchObject({ role: 'tool', tool_call_id: 'call_0' })
  })
})
