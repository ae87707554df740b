/** The simulator's OpenAI surface: SSE framing, include_usage, non-stream bodies, limits, models, errors. */
import { describe, expect, test } from 'bun:test'
import { startSimulator } from '../../src/sim/server.ts'
import { postJson, readSse, type Json } from './wire.ts'

const MODEL = 'qwen2.5-coder:7b'
const messages = [{ role: 'user', content: 'explain closures' }]

describe('POST /v1/chat/completions', () => {
  test('answers with one chat.completion object when stream is omitted', async () => {
    await using sim = startSimulator({ instant: true })
    const res = await postJson(`${sim.url}/v1/chat/completions`, { model: MODEL, messages })
    expect(res.headers.get('content-type')).toContain('application/json')
    const body = (await res.json()) as Json
    expect(body).toMatchObject({
      object: 'chat.completion',
      model: MODEL,
      system_fingerprint: 'fp_ollama',
      choices: [{ index: 0, message: { role: 'assistant' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 3, completion_tokens: 24, total_tokens: 27 },
    })
    expect(body.id).toMatch(/^chatcmpl-\d+$/)
    expect(Math.abs(body.created - Date.now() / 1000)).toBeLessThan(5)
    expect(body.choices[0].message.content).toContain(MODEL)
  })

  test('streams SSE: role chunk, content chunks, finish chunk, usage chunk, [DONE]', async () => {
    await using sim = startSimulator({ instant: true })
    const res = await postJson(`${sim.url}/v1/chat/completions`, {
      model: MODEL,
      messages,
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 4,
    })
    expect(res.headers.get('content-type')).toBe('text/event-stream')
    const events = await readSse(res)
    expect(events.at(-1)).toBe('[DONE]')
    const chunks = events.slice(0, -1) as Json[]
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1)
    expect(new Set(chunks.map((c) => c.created)).size).toBe(1)
    for (const chunk of chunks) expect(chunk).toMatchObject({ object: 'chat.completion.chunk', model: MODEL })
    expect(chunks[0].choices).toEqual([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }])
    const content = chunks.slice(1, 5)
    for (const chunk of content) expect(chunk.choices[0]).toMatchObject({ delta: { content: expect.any(String) }, finish_reason: null })
    expect(chunks[5].choices).toEqual([{ index: 0, delta: {}, finish_reason: 'length' }])
    expect(chunks[6]).toMatchObject({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } })
    expect(chunks.length).toBe(7)
  })

  test('streams without a usage chunk unless include_usage is set', async () => {
    await using sim = startSimulator({ instant: true })
    const events = await readSse(await postJson(`${sim.url}/v1/chat/completions`, { model: MODEL, messages, stream: true }))
    const chunks = events.slice(0, -1) as Json[]
    expect(chunks.length).toBe(1 + 24 + 1)
    expect(chunks.some((c) => 'usage' in c)).toBe(false)
    expect(chunks.at(-1).choices[0].finish_reason).toBe('stop')
  })

  test('answers with a JSON object for response_format json_object', async () => {
    await using sim = startSimulator({ instant: true })
    const body = (await postJson(`${sim.url}/v1/chat/completions`, { model: MODEL, messages, response_format: { type: 'json_object' } }).then((r) => r.json())) as Json
    expect(JSON.parse(body.choices[0].message.content)).toHaveProperty('answer')
  })

  test('max_completion_tokens cuts the answer with finish_reason length', async () => {
    await using sim = startSimulator({ instant: true })
    const body = (await postJson(`${sim.url}/v1/chat/completions`, { model: MODEL, messages, max_completion_tokens: 2 }).then((r) => r.json())) as Json
    expect(body.choices[0].finish_reason).toBe('length')
    expect(body.usage.completion_tokens).toBe(2)
  })

  test('unknown model is 404 not_found_error; bad JSON, missing model or messages are 400', async () => {
    await using sim = startSimulator({ instant: true })
    const missing = await postJson(`${sim.url}/v1/chat/completions`, { model: 'gpt-9', messages })
    expect(missing.status).toBe(404)
    expect(await missing.json()).toEqual({ error: { message: "model 'gpt-9' not found", type: 'not_found_error', param: null, code: null } })
    for (const body of ['{oops', { messages }, { model: MODEL }, { model: MODEL, messages: [] }]) {
      const res = await postJson(`${sim.url}/v1/chat/completions`, body)
      expect(res.status).toBe(400)
      expect(((await res.json()) as Json).error).toMatchObject({ type: 'invalid_request_error', param: null, code: null })
    }
  })
})

describe('POST /v1/completions', () => {
  test('returns a text_completion with usage', async () => {
    await using sim = startSimulator({ instant: true })
    const body = (await postJson(`${sim.url}/v1/completions`, { model: MODEL, prompt: 'def add(a, b):', max_tokens: 6 }).then((r) => r.json())) as Json
    expect(body).toMatchObject({
      object: 'text_completion',
      model: MODEL,
      choices: [{ index: 0, finish_reason: 'length', logprobs: null }],
      usage: { completion_tokens: 6 },
    })
    expect(body.id).toMatch(/^cmpl-\d+$/)
    expect(body.choices[0].text.split(' ').length).toBe(6)
  })

  test('streams text_completion chunks then [DONE]', async () => {
    await using sim = startSimulator({ instant: true })
    const events = await readSse(await postJson(`${sim.url}/v1/completions`, { model: MODEL, prompt: 'x', stream: true, max_tokens: 3 }))
    expect(events.at(-1)).toBe('[DONE]')
    const chunks = events.slice(0, -1) as Json[]
    expect(chunks.length).toBe(4)
    for (const chunk of chunks) expect(chunk.object).toBe('text_completion')
    expect(chunks.at(-1).choices[0].finish_reason).toBe('length')
  })
})

describe('GET /v1/models', () => {
  test('lists models and looks one up', async () => {
    await using sim = startSimulator({ instant: true })
    const list = (await fetch(`${sim.url}/v1/models`).then((r) => r.json())) as Json
    expect(list.object).toBe('list')
    expect(list.data[0]).toMatchObject({ id: 'qwen2.5-coder:1.5b', object: 'model', owned_by: 'library', created: expect.any(Number) })
    expect(await fetch(`${sim.url}/v1/models/llama3.2:3b`).then((r) => r.json())).toMatchObject({ id: 'llama3.2:3b', object: 'model' })
    const missing = await fetch(`${sim.url}/v1/models/nope`)
    expect(missing.status).toBe(404)
    expect(((await missing.json()) as Json).error.type).toBe('not_found_error')
  })
})
