/** The simulator's Ollama surface: NDJSON streams, non-stream bodies, limits, preload, listings, errors. */
import { describe, expect, test } from 'bun:test'
import { startSimulator } from '../../src/sim/server.ts'
import { postJson, readNdjson, until, type Json } from './wire.ts'

const MODEL = 'qwen2.5-coder:1.5b'
const STATS = ['total_duration', 'load_duration', 'prompt_eval_count', 'prompt_eval_duration', 'eval_count', 'eval_duration']

describe('POST /api/chat', () => {
  test('streams NDJSON chunks and ends with a done chunk carrying the stats', async () => {
    await using sim = startSimulator({ instant: true })
    const res = await postJson(`${sim.url}/api/chat`, { model: MODEL, messages: [{ role: 'user', content: 'write a sort function' }] })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/x-ndjson')
    const chunks = await readNdjson(res)
    const last = chunks.at(-1)
    const body = chunks.slice(0, -1)
    expect(body.length).toBe(24)
    for (const chunk of body) {
      expect(chunk).toMatchObject({ model: MODEL, done: false, message: { role: 'assistant' } })
      expect(typeof chunk.message.content).toBe('string')
      expect(Number.isNaN(Date.parse(chunk.created_at))).toBe(false)
    }
    expect(last).toMatchObject({ model: MODEL, done: true, done_reason: 'stop', message: { role: 'assistant', content: '' } })
    for (const key of STATS) expect(last[key]).toBeGreaterThan(0)
    expect(last.eval_count).toBe(24)
    expect(last.prompt_eval_count).toBe(Math.ceil(4 / 0.75))
    expect(body.map((c: Json) => c.message.content).join('')).toContain(MODEL)
  })

  test('answers in one object with stream false, and the same prompt gives the same text', async () => {
    await using sim = startSimulator({ instant: true })
    const ask = () => postJson(`${sim.url}/api/chat`, { model: MODEL, stream: false, messages: [{ role: 'user', content: 'hi' }] }).then((r) => r.json() as Promise<Json>)
    const first = await ask()
    expect(first).toMatchObject({ model: MODEL, done: true, done_reason: 'stop', message: { role: 'assistant' } })
    expect(first.message.content.split(' ').length).toBe(24)
    for (const key of STATS) expect(first[key]).toBeGreaterThan(0)
    expect((await ask()).message.content).toBe(first.message.content)
  })

  test('stops at options.num_predict with done_reason length', async () => {
    await using sim = startSimulator({ instant: true })
    const res = await postJson(`${sim.url}/api/chat`, { model: MODEL, messages: [{ role: 'user', content: 'hi' }], options: { num_predict: 5 } })
    const chunks = await readNdjson(res)
    expect(chunks.length).toBe(6)
    expect(chunks.at(-1)).toMatchObject({ done: true, done_reason: 'length', eval_count: 5 })
  })

  test('answers with a JSON object when format is set', async () => {
    await using sim = startSimulator({ instant: true })
    const body = (await postJson(`${sim.url}/api/chat`, { model: MODEL, stream: false, format: 'json', messages: [{ role: 'user', content: 'hi' }] }).then((r) => r.json())) as Json
    expect(JSON.parse(body.message.content).answer).toContain(MODEL)
    const streamed = await readNdjson(await postJson(`${sim.url}/api/chat`, { model: MODEL, format: { type: 'object' }, messages: [{ role: 'user', content: 'hi' }] }))
    expect(JSON.parse(streamed.map((c: Json) => c.message.content).join(''))).toEqual(JSON.parse(body.message.content))
  })

  test('loads the model without messages and reports done_reason load', async () => {
    await using sim = startSimulator({ instant: true })
    const res = await postJson(`${sim.url}/api/chat`, { model: MODEL })
    expect(res.headers.get('content-type')).toContain('application/json')
    expect(await res.json()).toMatchObject({ model: MODEL, message: { role: 'assistant', content: '' }, done: true, done_reason: 'load' })
    const ps = (await fetch(`${sim.url}/api/ps`).then((r) => r.json())) as Json
    expect(ps.models.map((m: Json) => m.name)).toEqual([MODEL])
  })
})

describe('POST /api/generate', () => {
  test('streams when stream is omitted', async () => {
    await using sim = startSimulator({ instant: true })
    const res = await postJson(`${sim.url}/api/generate`, { model: MODEL, prompt: 'why is the sky blue' })
    expect(res.headers.get('content-type')).toBe('application/x-ndjson')
    const chunks = await readNdjson(res)
    expect(chunks.length).toBe(25)
    expect(chunks[0]).toMatchObject({ model: MODEL, done: false })
    expect(typeof chunks[0].response).toBe('string')
    expect(chunks.at(-1)).toMatchObject({ done: true, done_reason: 'stop', response: '' })
    expect(Array.isArray(chunks.at(-1).context)).toBe(true)
  })

  test('returns one JSON object with stream false', async () => {
    await using sim = startSimulator({ instant: true })
    const res = await postJson(`${sim.url}/api/generate`, { model: MODEL, prompt: 'hi', stream: false, options: { num_predict: 3 } })
    expect(res.headers.get('content-type')).toContain('application/json')
    const body = (await res.json()) as Json
    expect(body).toMatchObject({ model: MODEL, done: true, done_reason: 'length', eval_count: 3 })
    expect(body.response.split(' ').length).toBe(3)
  })

  test('preloads without a prompt and unloads with keep_alive 0', async () => {
    await using sim = startSimulator({ instant: true })
    const psNames = async () => ((await fetch(`${sim.url}/api/ps`).then((r) => r.json())) as Json).models.map((m: Json) => m.name)
    expect(await psNames()).toEqual([])
    expect(await postJson(`${sim.url}/api/generate`, { model: MODEL }).then((r) => r.json())).toMatchObject({ done: true, done_reason: 'load', response: '' })
    expect(await psNames()).toEqual([MODEL])
    expect(await postJson(`${sim.url}/api/generate`, { model: MODEL, keep_alive: 0 }).then((r) => r.json())).toMatchObject({ done: true, done_reason: 'unload' })
    expect(await psNames()).toEqual([])
  })
})

describe('model state', () => {
  test('/api/ps lists a model only after its first use, with expires_at and context_length', async () => {
    await using sim = startSimulator({ instant: true })
    const ps = async () => ((await fetch(`${sim.url}/api/ps`).then((r) => r.json())) as Json).models
    expect(await ps()).toEqual([])
    await postJson(`${sim.url}/api/chat`, { model: 'llama3.2:3b', stream: false, messages: [{ role: 'user', content: 'hi' }] }).then((r) => r.json())
    const [loaded] = await ps()
    expect(loaded).toMatchObject({ name: 'llama3.2:3b', model: 'llama3.2:3b', context_length: 4096, details: { parameter_size: '3B' } })
    expect(loaded.size_vram).toBe(loaded.size)
    const expiresInMs = Date.parse(loaded.expires_at) - Date.now()
    expect(expiresInMs).toBeGreaterThan(4 * 60_000)
    expect(expiresInMs).toBeLessThanOrEqual(5 * 60_000)
  })

  test('unloads a model when its keep_alive runs out', async () => {
    await using sim = startSimulator({ instant: true })
    await postJson(`${sim.url}/api/generate`, { model: MODEL, prompt: 'hi', stream: false, keep_alive: '50ms' }).then((r) => r.json())
    await until(async () => ((await fetch(`${sim.url}/api/ps`).then((r) => r.json())) as Json).models.length === 0)
  })

  test('keeps a model with negative keep_alive far in the future', async () => {
    await using sim = startSimulator({ instant: true })
    await postJson(`${sim.url}/api/generate`, { model: MODEL, keep_alive: -1 }).then((r) => r.json())
    const [loaded] = ((await fetch(`${sim.url}/api/ps`).then((r) => r.json())) as Json).models
    expect(new Date(loaded.expires_at).getFullYear()).toBeGreaterThan(2200)
  })
})

describe('listings', () => {
  test('/api/tags lists the default models with details', async () => {
    await using sim = startSimulator({ instant: true })
    const { models } = (await fetch(`${sim.url}/api/tags`).then((r) => r.json())) as Json
    expect(models.map((m: Json) => m.name)).toEqual(['qwen2.5-coder:1.5b', 'qwen2.5-coder:7b', 'llama3.2:3b', 'deepseek-coder:33b'])
    expect(models.map((m: Json) => m.details.parameter_size)).toEqual(['1.5B', '7B', '3B', '33B'])
    expect(models[0]).toMatchObject({
      model: MODEL,
      details: { parent_model: '', format: 'gguf', family: 'qwen2', families: ['qwen2'], quantization_level: 'Q4_K_M' },
    })
    expect(models[0].digest).toMatch(/^[0-9a-f]{64}$/)
    expect(models[0].size).toBeGreaterThan(0)
  })

  test('--models replaces the catalog; unknown sizes default to 7B', async () => {
    await using sim = startSimulator({ instant: true, models: ['phi3:0.5b', 'nomic-embed-text'] })
    const { models } = (await fetch(`${sim.url}/api/tags`).then((r) => r.json())) as Json
    expect(models.map((m: Json) => [m.name, m.details.parameter_size])).toEqual([['phi3:0.5b', '500M'], ['nomic-embed-text', '7B']])
  })

  test('/api/show reports parameter count, context length and capabilities', async () => {
    await using sim = startSimulator({ instant: true })
    const body = (await postJson(`${sim.url}/api/show`, { model: 'llama3.2:3b' }).then((r) => r.json())) as Json
    expect(body.model_info['general.parameter_count']).toBe(3e9)
    expect(body.model_info['general.architecture']).toBe('llama')
    expect(body.model_info['llama.context_length']).toBeGreaterThan(0)
    expect(body.capabilities).toContain('completion')
    expect(body.details.parameter_size).toBe('3B')
  })

  test('answers the liveness and version routes like Ollama', async () => {
    await using sim = startSimulator({ instant: true })
    expect(await fetch(`${sim.url}/`).then((r) => r.text())).toBe('Ollama is running')
    expect(await fetch(`${sim.url}/api/version`).then((r) => r.json())).toEqual({ version: '0.12.0' })
  })
})

describe('errors', () => {
  test('unknown models are 404 with an Ollama error body', async () => {
    await using sim = startSimulator({ instant: true })
    for (const path of ['/api/chat', '/api/generate', '/api/embed', '/api/show']) {
      const res = await postJson(`${sim.url}${path}`, { model: 'llama9', messages: [{ role: 'user', content: 'x' }], prompt: 'x' })
      expect(res.status).toBe(404)
      expect(await res.json()).toEqual({ error: "model 'llama9' not found" })
    }
  })

  test('bad JSON and a missing model are 400', async () => {
    await using sim = startSimulator({ instant: true })
    const bad = await postJson(`${sim.url}/api/chat`, '{nope')
    expect(bad.status).toBe(400)
    expect(typeof ((await bad.json()) as Json).error).toBe('string')
    const missing = await postJson(`${sim.url}/api/generate`, { prompt: 'hi' })
    expect(missing.status).toBe(400)
    expect(await missing.json()).toEqual({ error: 'model is required' })
  })

  test('embedding-only models refuse to chat', async () => {
    await using sim = startSimulator({ instant: true, models: ['nomic-embed-text:latest'] })
    const res = await postJson(`${sim.url}/api/chat`, { model: 'nomic-embed-text', messages: [{ role: 'user', content: 'x' }] })
    expect(res.status).toBe(400)
    expect(((await res.json()) as Json).error).toContain('does not support chat')
  })
})
