/** The simulator's model management: pull, push, create, copy, delete and blobs, in Ollama's shapes. */
import { describe, expect, test } from 'bun:test'
import { Ollama } from 'ollama'
import { startSimulator } from '../../src/sim/server.ts'
import { postJson, readNdjson, until, type Json } from './wire.ts'

const tags = async (url: string): Promise<string[]> =>
  ((await fetch(`${url}/api/tags`).then((r) => r.json())) as Json).models.map((m: Json) => m.name)

const manage = async (url: string): Promise<Json> => fetch(`${url}/sim/manage`).then((r) => r.json())

describe('POST /api/pull', () => {
  test('streams manifest, per-layer progress, verify, write and success lines, then lists the model', async () => {
    await using sim = startSimulator({ instant: true, models: ['llama3.2:3b'] })
    const res = await postJson(`${sim.url}/api/pull`, { model: 'phi3:3.8b' })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/x-ndjson')
    const lines = await readNdjson(res)
    expect(lines[0]).toEqual({ status: 'pulling manifest' })
    expect(lines.slice(-3)).toEqual([{ status: 'verifying sha256 digest' }, { status: 'writing manifest' }, { status: 'success' }])
    const progress = lines.slice(1, -3)
    const weights = progress.filter((l: Json) => l.digest === progress[0].digest)
    expect(weights.length).toBeGreaterThan(3)
    expect(weights[0]).not.toHaveProperty('completed')
    for (const line of progress) {
      expect(line.status).toBe(`pulling ${line.digest.slice(7, 19)}`)
      expect(line.digest).toMatch(/^sha256:[0-9a-f]{64}$/)
      expect(line.total).toBeGreaterThan(0)
    }
    expect(weights.at(-1).completed).toBe(weights[0].total)
    expect(weights[0].total).toBeGreaterThan(2e9)
    expect(new Set(progress.map((l: Json) => l.digest)).size).toBe(4)
    expect(await tags(sim.url)).toEqual(['llama3.2:3b', 'phi3:3.8b'])
    expect(sim.models).toContain('phi3:3.8b')
  })

  test('with stream false answers one success object once the model is there', async () => {
    await using sim = startSimulator({ instant: true, models: ['llama3.2:3b'] })
    const res = await postJson(`${sim.url}/api/pull`, { name: 'mistral', stream: false })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toStartWith('application/json')
    expect(await res.json()).toEqual({ status: 'success' })
    // A name without a tag is listed as `:latest`, as Ollama lists it.
    expect(await tags(sim.url)).toContain('mistral:latest')
  })

  test('a pulled model answers chat and show through the ollama client, and stats count only the chat', async () => {
    await using sim = startSimulator({ instant: true, models: ['llama3.2:3b'] })
    const ollama = new Ollama({ host: sim.url })
    const parts: string[] = []
    for await (const part of await ollama.pull({ model: 'gemma2:2b', stream: true })) parts.push(part.status)
    expect(parts[0]).toBe('pulling manifest')
    expect(parts.at(-1)).toBe('success')
    const reply = await ollama.chat({ model: 'gemma2:2b', messages: [{ role: 'user', content: 'hi' }] })
    expect(reply.done).toBe(true)
    expect((await ollama.show({ model: 'gemma2:2b' })).details.parameter_size).toBe('2B')
    expect(sim.stats().requests).toBe(1)
  })

  test('pulling a model that is already there reports every layer complete at once', async () => {
    await using sim = startSimulator({ models: ['deepseek-coder:33b'] })
    const lines = await readNdjson(await postJson(`${sim.url}/api/pull`, { model: 'deepseek-coder:33b' }))
    const progress = lines.filter((l: Json) => l.digest)
    expect(progress.length).toBe(4)
    for (const line of progress) expect(line.completed).toBe(line.total)
    expect(lines.at(-1)).toEqual({ status: 'success' })
  })

  test('a client that leaves mid-pull cancels it: the model is not listed', async () => {
    await using sim = startSimulator({ models: ['llama3.2:3b'] })
    const controller = new AbortController()
    const res = await postJson(`${sim.url}/api/pull`, { model: 'llama3.1:70b' }, { signal: controller.signal })
    const reader = res.body!.getReader()
    await reader.read()
    expect((await manage(sim.url)).active).toEqual([{ operation: 'pull', model: 'llama3.1:70b' }])
    controller.abort()
    await until(async () => (await manage(sim.url)).cancelled === 1)
    expect((await manage(sim.url)).active).toEqual([])
    expect(await tags(sim.url)).toEqual(['llama3.2:3b'])
  })

  test('a body without a model, or not JSON, is a 400', async () => {
    await using sim = startSimulator({ instant: true })
    const missing = await postJson(`${sim.url}/api/pull`, { stream: false })
    expect(missing.status).toBe(400)
    expect(await missing.json()).toEqual({ error: 'model is required' })
    const broken = await postJson(`${sim.url}/api/pull`, '{nope')
    expect(broken.status).toBe(400)
    expect((await broken.json()).error).toContain('invalid JSON')
  })
})

describe('copy and delete', () => {
  test('copy answers 200 with an empty body and lists the copy with the source digest', async () => {
    await using sim = startSimulator({ instant: true, models: ['llama3.2:3b'] })
    const res = await postJson(`${sim.url}/api/copy`, { source: 'llama3.2:3b', destination: 'mine:latest' })
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('')
    const { models } = (await fetch(`${sim.url}/api/tags`).then((r) => r.json())) as Json
    expect(models.map((m: Json) => m.name)).toEqual(['llama3.2:3b', 'mine:latest'])
    expect(models[1].digest).toBe(models[0].digest)
    expect(models[1].details.parameter_size).toBe('3B')
  })

  test('copy of an unknown model is a 404', async () => {
    await using sim = startSimulator({ instant: true })
    const res = await postJson(`${sim.url}/api/copy`, { source: 'nope:1b', destination: 'x' })
    expect(res.status).toBe(404)
    expect(await res.json()).toEqual({ error: "model 'nope:1b' not found" })
  })

  test('delete removes the model (and unloads it); deleting it again is a 404', async () => {
    await using sim = startSimulator({ instant: true, models: ['llama3.2:3b', 'qwen2.5-coder:1.5b'] })
    const ollama = new Ollama({ host: sim.url })
    await ollama.generate({ model: 'llama3.2:3b', prompt: 'hi' })
    expect(await ollama.delete({ model: 'llama3.2:3b' })).toEqual({ status: 'success' })
    expect(await tags(sim.url)).toEqual(['qwen2.5-coder:1.5b'])
    expect((await ollama.ps()).models).toEqual([])
    const again = await fetch(`${sim.url}/api/delete`, { method: 'DELETE', body: JSON.stringify({ model: 'llama3.2:3b' }) })
    expect(again.status).toBe(404)
    expect(await again.json()).toEqual({ error: "model 'llama3.2:3b' not found" })
    const chat = await postJson(`${sim.url}/api/chat`, { model: 'llama3.2:3b', messages: [] })
    expect(chat.status).toBe(404)
  })
})

describe('create and push', () => {
  test('create from a model streams layer lines and success, then lists the new model', async () => {
    await using sim = startSimulator({ instant: true, models: ['llama3.2:3b'] })
    const res = await postJson(`${sim.url}/api/create`, { model: 'helper', from: 'llama3.2:3b', system: 'You are terse.' })
    const lines = await readNdjson(res)
    const statuses = lines.map((l: Json) => l.status)
    expect(statuses.filter((s: string) => s.startsWith('using existing layer sha256:')).length).toBe(4)
    expect(statuses.filter((s: string) => s.startsWith('creating new layer sha256:')).length).toBe(1)
    expect(statuses.slice(-2)).toEqual(['writing manifest', 'success'])
    for (const line of lines) expect(Object.keys(line)).toEqual(['status'])
    expect(await tags(sim.url)).toEqual(['llama3.2:3b', 'helper:latest'])
    const show = (await postJson(`${sim.url}/api/show`, { model: 'helper' }).then((r) => r.json())) as Json
    expect(show.details.parameter_size).toBe('3B')
  })

  test('create from a model that is not there pulls it first', async () => {
    await using sim = startSimulator({ instant: true, models: ['llama3.2:3b'] })
    const res = await new Ollama({ host: sim.url }).create({ model: 'coder', from: 'starcoder2:3b', stream: false })
    expect(res.status).toBe('success')
    expect(await tags(sim.url)).toEqual(['llama3.2:3b', 'starcoder2:3b', 'coder:latest'])
  })

  test('create from uploaded blobs: HEAD says 404 then 200, a wrong digest is refused, unknown blobs are a 400', async () => {
    await using sim = startSimulator({ instant: true, models: ['llama3.2:3b'] })
    const bytes = new TextEncoder().encode('GGUF fake weights')
    const digest = `sha256:${new Bun.CryptoHasher('sha256').update(bytes).digest('hex')}`
    expect((await fetch(`${sim.url}/api/blobs/${digest}`, { method: 'HEAD' })).status).toBe(404)
    const wrong = await fetch(`${sim.url}/api/blobs/sha256:${'0'.repeat(64)}`, { method: 'POST', body: bytes })
    expect(wrong.status).toBe(400)
    expect((await wrong.json()).error).toContain('digest mismatch')
    expect((await fetch(`${sim.url}/api/blobs/${digest}`, { method: 'POST', body: bytes })).status).toBe(201)
    expect((await fetch(`${sim.url}/api/blobs/${digest}`, { method: 'HEAD' })).status).toBe(200)
    const made = await postJson(`${sim.url}/api/create`, { model: 'local:7b', files: { 'model.gguf': digest }, stream: false })
    expect(await made.json()).toEqual({ status: 'success' })
    expect(await tags(sim.url)).toEqual(['llama3.2:3b', 'local:7b'])
    const missing = await postJson(`${sim.url}/api/create`, { model: 'other', files: { 'model.gguf': `sha256:${'1'.repeat(64)}` } })
    expect(missing.status).toBe(400)
    const neither = await postJson(`${sim.url}/api/create`, { model: 'other' })
    expect(neither.status).toBe(400)
    expect(await neither.json()).toEqual({ error: "neither 'from' or 'files' was specified" })
  })

  test('push streams manifest, per-layer progress and success without changing the catalog', async () => {
    await using sim = startSimulator({ instant: true, models: ['me/tool:1b'] })
    const parts: Json[] = []
    for await (const part of await new Ollama({ host: sim.url }).push({ model: 'me/tool:1b', stream: true })) parts.push(part)
    expect(parts[0]).toEqual({ status: 'retrieving manifest' })
    const layer = parts.find((p) => p.digest)
    expect(layer.status).toBe(`pushing ${layer.digest.slice(7, 19)}`)
    expect(parts.slice(-2)).toEqual([{ status: 'pushing manifest' }, { status: 'success' }])
    expect(await tags(sim.url)).toEqual(['me/tool:1b'])
    const unknown = await postJson(`${sim.url}/api/push`, { model: 'me/none:1b' })
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toEqual({ error: "model 'me/none:1b' not found" })
  })
})
