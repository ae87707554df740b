/** `ollama pull|push|create|copy|delete` pointed at the gateway: proxied to one Ollama backend, probed at once after. */
import { describe, expect, test } from 'bun:test'
import { chmodSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Ollama } from 'ollama'
import { startSimulator } from '../../src/sim/server.ts'
import { startGateway } from '../support/gateway.ts'
import { until } from '../support/until.ts'

/** Probes so slow that a new model can only show up because the gateway probes right after the change. */
const slowProbes = [
  { use: 'ollama-probe', options: { intervalMs: 60_000, timeoutMs: 500 } },
  { use: 'openai-probe', options: { intervalMs: 60_000, timeoutMs: 500 } },
]

const tags = async (url: string): Promise<string[]> => (await new Ollama({ host: url }).list()).models.map((m) => m.name)
const pull = (url: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  fetch(`${url}/api/pull`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ stream: false, ...body }) })

async function fakeNvidiaSmi(fixture: string): Promise<string> {
  const script = join(mkdtempSync(join(tmpdir(), 'nvsmi-')), 'nvidia-smi')
  await Bun.write(script, `#!/bin/sh\ncat '${resolve(import.meta.dir, '../fixtures/nvidia-smi', fixture)}'\n`)
  chmodSync(script, 0o755)
  return script
}

describe('model management through the gateway', () => {
  test('a streamed pull yields progress and success; the model is then listed and answers chat', async () => {
    await using a = startSimulator({ instant: true, models: ['llama3.2:3b'] })
    await using b = startSimulator({ instant: true, models: ['qwen2.5-coder:1.5b'] })
    await using gw = await startGateway({ backends: [{ name: 'a', kind: 'ollama', url: a.url }, { name: 'b', kind: 'ollama', url: b.url }], plugins: slowProbes })
    const ollama = new Ollama({ host: gw.url })
    const parts: { status: string; digest?: string; completed?: number }[] = []
    for await (const part of await ollama.pull({ model: 'phi3:3.8b', stream: true })) parts.push(part)
    expect(parts[0]?.status).toBe('pulling manifest')
    expect(parts.filter((p) => p.digest && p.completed).length).toBeGreaterThan(3)
    expect(parts.at(-1)?.status).toBe('success')
    await until(async () => (await tags(gw.url)).includes('phi3:3.8b'), 2_000, 'the pulled model in /api/tags')
    const reply = await ollama.chat({ model: 'phi3:3.8b', messages: [{ role: 'user', content: 'hi' }] })
    expect(reply.done).toBe(true)
    // Neither backend reports GPU figures and both have nothing loaded: config order decides.
    expect(a.models).toContain('phi3:3.8b')
    expect(b.models).not.toContain('phi3:3.8b')
  })

  test('x-switchyard-backend picks the backend; an unknown or OpenAI-kind one is a 400', async () => {
    await using a = startSimulator({ instant: true, models: ['llama3.2:3b'] })
    await using b = startSimulator({ instant: true, models: ['llama3.2:3b'] })
    await using gw = await startGateway({
      backends: [{ name: 'a', kind: 'ollama', url: a.url }, { name: 'b', kind: 'ollama', url: b.url }, { name: 'v', kind: 'openai', url: b.url }],
      plugins: slowProbes,
    })
    const res = await pull(gw.url, { model: 'gemma2:2b' }, { 'x-switchyard-backend': 'b' })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-switchyard-backend')).toBe('b')
    expect(await res.json()).toEqual({ status: 'success' })
    expect(b.models).toContain('gemma2:2b')
    expect(a.models).not.toContain('gemma2:2b')
    const unknown = await pull(gw.url, { model: 'gemma2:2b' }, { 'x-switchyard-backend': 'zz' })
    expect(unknown.status).toBe(400)
    expect((await unknown.json()).error).toBe('x-switchyard-backend: no backend is named "zz"; Ollama backends: a, b')
    const openai = await pull(gw.url, { model: 'gemma2:2b' }, { 'x-switchyard-backend': 'v' })
    expect(openai.status).toBe(400)
    expect((await openai.json()).error).toContain('backend "v" is OpenAI-compatible and cannot pull')
  })

  test('a model pinned by models.<name>.backends is pulled onto that backend', async () => {
    await using a = startSimulator({ instant: true, models: ['llama3.2:3b'] })
    await using b = startSimulator({ instant: true, models: ['llama3.2:3b'] })
    await using gw = await startGateway({
      backends: [{ name: 'a', kind: 'ollama', url: a.url }, { name: 'b', kind: 'ollama', url: b.url }],
      models: { 'mistral:7b': { backends: ['b'] } },
      plugins: slowProbes,
    })
    const res = await pull(gw.url, { name: 'mistral:7b' })
    expect(res.headers.get('x-switchyard-backend')).toBe('b')
    expect(res.headers.get('x-switchyard-reason')).toBe('models.mistral:7b.backends')
    expect(b.models).toContain('mistral:7b')
    expect(a.models).not.toContain('mistral:7b')
  })

  test('without a choice, the backend whose GPU has the most free memory gets the pull (fake nvidia-smi)', async () => {
    const script = await fakeNvidiaSmi('two-gpus-one-busy.csv')
    await using busy = startSimulator({ instant: true, models: ['llama3.2:3b'] })
    await using idle = startSimulator({ instant: true, models: ['llama3.2:3b'] })
    await using gw = await startGateway({
      backends: [{ name: 'busy', kind: 'ollama', url: busy.url, gpu: 0 }, { name: 'idle', kind: 'ollama', url: idle.url, gpu: 1 }],
      plugins: [...slowProbes, { use: 'nvidia-smi-probe', options: { binary: script, intervalMs: 200 } }],
    })
    await until(() => gw.gateway.deps.health.gpus().length === 2, 2_000, 'GPUs from nvidia-smi')
    const res = await pull(gw.url, { model: 'codellama:13b' })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-switchyard-backend')).toBe('idle')
    expect(res.headers.get('x-switchyard-reason')).toBe('most free GPU memory (81282 MiB)')
    expect(idle.models).toContain('codellama:13b')
    expect(busy.models).not.toContain('codellama:13b')
  })

  test('copy and delete through the client go to the backend that has the model, and the listing follows', async () => {
    await using a = startSimulator({ instant: true, models: ['qwen2.5-coder:1.5b'] })
    await using b = startSimulator({ instant: true, models: ['llama3.2:3b'] })
    await using gw = await startGateway({ backends: [{ name: 'a', kind: 'ollama', url: a.url }, { name: 'b', kind: 'ollama', url: b.url }], plugins: slowProbes })
    const ollama = new Ollama({ host: gw.url })
    expect(await ollama.copy({ source: 'llama3.2:3b', destination: 'mine' })).toEqual({ status: 'success' })
    expect(b.models).toContain('mine:latest')
    await until(async () => (await tags(gw.url)).includes('mine:latest'), 2_000, 'the copy in /api/tags')
    expect(await ollama.delete({ model: 'mine' })).toEqual({ status: 'success' })
    expect(b.models).not.toContain('mine:latest')
    await until(async () => !(await tags(gw.url)).includes('mine:latest'), 2_000, 'the copy gone from /api/tags')
    const missing = await fetch(`${gw.url}/api/delete`, { method: 'DELETE', headers: { 'x-switchyard-backend': 'a' }, body: JSON.stringify({ model: 'mine' }) })
    expect(missing.status).toBe(404)
    expect(await missing.json()).toEqual({ error: "model 'mine' not found" })
  })

  test('create and push through the client stream their status lines', async () => {
    await using sim = startSimulator({ instant: true, models: ['llama3.2:3b'] })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: slowProbes })
    const ollama = new Ollama({ host: gw.url })
    const created: string[] = []
    for await (const part of await ollama.create({ model: 'me/terse', from: 'llama3.2:3b', system: 'Be terse.', stream: true })) created.push(part.status)
    expect(created.slice(-2)).toEqual(['writing manifest', 'success'])
    await until(async () => (await tags(gw.url)).includes('me/terse:latest'), 2_000, 'the created model in /api/tags')
    const pushed = await ollama.push({ model: 'me/terse', stream: false })
    expect(pushed.status).toBe('success')
  })

  test('blob uploads and a create from files land on the same backend', async () => {
    await using a = startSimulator({ instant: true, models: ['llama3.2:3b'] })
    await using b = startSimulator({ instant: true, models: ['qwen2.5-coder:1.5b'] })
    await using gw = await startGateway({ backends: [{ name: 'a', kind: 'ollama', url: a.url }, { name: 'b', kind: 'ollama', url: b.url }], plugins: slowProbes })
    const bytes = new TextEncoder().encode('GGUF weights')
    const digest = `sha256:${new Bun.CryptoHasher('sha256').update(bytes).digest('hex')}`
    const head = () => fetch(`${gw.url}/api/blobs/${digest}`, { method: 'HEAD', headers: { 'x-switchyard-backend': 'b' } })
    expect((await head()).status).toBe(404)
    const upload = await fetch(`${gw.url}/api/blobs/${digest}`, { method: 'POST', headers: { 'x-switchyard-backend': 'b' }, body: bytes })
    expect(upload.status).toBe(201)
    expect((await head()).status).toBe(200)
    const created = await fetch(`${gw.url}/api/create`, { method: 'POST', body: JSON.stringify({ model: 'local:1b', files: { 'model.gguf': digest }, stream: false }) })
    expect(created.headers.get('x-switchyard-backend')).toBe('b')
    expect(await created.json()).toEqual({ status: 'success' })
    expect(b.models).toContain('local:1b')
  })

  test('with auth on, management needs the admin key: 401 without a key, 403 with a client key', async () => {
    await using sim = startSimulator({ instant: true, models: ['llama3.2:3b'] })
    await using gw = await startGateway({
      backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }],
      auth: { adminKey: 'admin-secret-1', keys: [{ name: 'dev', key: 'client-key-1' }] },
      plugins: slowProbes,
    })
    const anonymous = new Ollama({ host: gw.url })
    await expect(anonymous.pull({ model: 'gemma2:2b' })).rejects.toMatchObject({ status_code: 401 })
    const client = new Ollama({ host: gw.url, headers: { authorization: 'Bearer client-key-1' } })
    await expect(client.pull({ model: 'gemma2:2b' })).rejects.toMatchObject({ status_code: 403, error: expect.stringContaining('admin key') })
    await expect(client.delete({ model: 'llama3.2:3b' })).rejects.toMatchObject({ status_code: 403 })
    const admin = new Ollama({ host: gw.url, headers: { authorization: 'Bearer admin-secret-1' } })
    expect((await admin.pull({ model: 'gemma2:2b' })).status).toBe('success')
    expect(sim.models).toContain('gemma2:2b')
  })

  test('a backend that is down is a 502 naming it, whether named or pinned', async () => {
    await using live = startSimulator({ instant: true, models: ['llama3.2:3b'] })
    const dead = startSimulator({ instant: true })
    await dead.close()
    await using gw = await startGateway({
      backends: [{ name: 'live', kind: 'ollama', url: live.url }, { name: 'dead', kind: 'ollama', url: dead.url }],
      models: { 'pinned:1b': { backends: ['dead'] } },
      plugins: slowProbes,
    })
    const named = await pull(gw.url, { model: 'gemma2:2b' }, { 'x-switchyard-backend': 'dead' })
    expect(named.status).toBe(502)
    expect((await named.json()).error).toStartWith('backend "dead"')
    const pinned = await pull(gw.url, { model: 'pinned:1b' })
    expect(pinned.status).toBe(502)
    expect((await pinned.json()).error).toStartWith('backend "dead"')
  })

  test('bad input is a 400 in Ollama shape', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: slowProbes })
    const notJson = await fetch(`${gw.url}/api/pull`, { method: 'POST', body: '{nope' })
    expect(notJson.status).toBe(400)
    expect((await notJson.json()).error).toStartWith('request body is not valid JSON')
    const noModel = await pull(gw.url, {})
    expect(noModel.status).toBe(400)
    expect(await noModel.json()).toEqual({ error: '`model` is required' })
    const noDestination = await fetch(`${gw.url}/api/copy`, { method: 'POST', body: JSON.stringify({ source: 'llama3.2:3b' }) })
    expect(noDestination.status).toBe(400)
    expect((await noDestination.json()).error).toContain('destination')
  })

  test('a client that aborts a streamed pull cancels it upstream', async () => {
    await using sim = startSimulator({ models: ['llama3.2:3b'] })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: slowProbes })
    const transfers = async () => (await fetch(`${sim.url}/sim/manage`).then((r) => r.json())) as { active: unknown[]; cancelled: number }
    const stream = await new Ollama({ host: gw.url }).pull({ model: 'llama3.1:70b', stream: true })
    for await (const part of stream) if (part.completed) break
    expect((await transfers()).active).toEqual([{ operation: 'pull', model: 'llama3.1:70b' }])
    stream.abort()
    await until(async () => (await transfers()).cancelled === 1, 2_000, 'the simulator to see the pull cancelled')
    expect((await transfers()).active).toEqual([])
    expect(sim.models).not.toContain('llama3.1:70b')
  })
})
