/** /sim/stats counting, client aborts, and every injected fault as a real client sees it. */
import { describe, expect, test } from 'bun:test'
import { startSimulator } from '../../src/sim/server.ts'
import { postJson, until, type Json } from './wire.ts'

const MODEL = 'qwen2.5-coder:1.5b'
const chat = (stream: boolean) => ({ model: MODEL, stream, messages: [{ role: 'user', content: 'hello' }] })

/** Reads the body to its end; resolves with the error when the body breaks instead of ending cleanly. */
async function drain(response: Response): Promise<{ text: string; error?: unknown }> {
  const reader = response.body!.getReader()
  const decoder = new TextDecoder()
  let text = ''
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return { text }
      text += decoder.decode(value, { stream: true })
    }
  } catch (error) {
    return { text, error }
  }
}

describe('/sim/stats', () => {
  test('counts generation requests per model, not listings', async () => {
    await using sim = startSimulator({ instant: true })
    await postJson(`${sim.url}/api/chat`, chat(false)).then((r) => r.json())
    await postJson(`${sim.url}/api/generate`, { model: 'llama3.2:3b', prompt: 'x' }).then((r) => r.text())
    await postJson(`${sim.url}/v1/chat/completions`, chat(false)).then((r) => r.json())
    await postJson(`${sim.url}/v1/embeddings`, { model: MODEL, input: 'x' }).then((r) => r.json())
    await fetch(`${sim.url}/api/tags`).then((r) => r.json())
    await fetch(`${sim.url}/v1/models`).then((r) => r.json())
    await fetch(`${sim.url}/`).then((r) => r.text())
    const stats = (await fetch(`${sim.url}/sim/stats`).then((r) => r.json())) as Json
    expect(stats).toEqual({ requests: 4, active: 0, aborted: 0, byModel: { [MODEL]: 3, 'llama3.2:3b': 1 }, aborts: [] })
    expect(sim.stats()).toEqual(stats)
    await postJson(`${sim.url}/sim/stats/reset`, {})
    expect(sim.stats()).toEqual({ requests: 0, active: 0, aborted: 0, byModel: {}, aborts: [] })
  })

  test('an in-flight stream is active, and aborting it mid-stream counts as aborted', async () => {
    await using sim = startSimulator({ speed: 10, outputTokens: 100_000 })
    const controller = new AbortController()
    const res = await postJson(`${sim.url}/api/chat`, chat(true), { signal: controller.signal })
    const reader = res.body!.getReader()
    await reader.read()
    expect(sim.stats().active).toBe(1)
    controller.abort()
    await until(() => sim.stats().aborted === 1)
    expect(sim.stats()).toMatchObject({ requests: 1, active: 0, aborted: 1 })
  })

  test('aborting an SSE stream counts as aborted too', async () => {
    await using sim = startSimulator({ speed: 10, outputTokens: 100_000 })
    const controller = new AbortController()
    const res = await postJson(`${sim.url}/v1/chat/completions`, chat(true), { signal: controller.signal })
    await res.body!.getReader().read()
    controller.abort()
    await until(() => sim.stats().aborted === 1 && sim.stats().active === 0)
  })
})

describe('faults', () => {
  test('status-500 answers 500 in each protocol shape', async () => {
    await using sim = startSimulator({ instant: true })
    const headers = { 'x-sim-fault': 'status-500' }
    const ollama = await postJson(`${sim.url}/api/chat`, chat(false), { headers })
    expect(ollama.status).toBe(500)
    expect(typeof ((await ollama.json()) as Json).error).toBe('string')
    const openai = await postJson(`${sim.url}/v1/chat/completions`, chat(false), { headers })
    expect(openai.status).toBe(500)
    expect(((await openai.json()) as Json).error).toMatchObject({ type: 'api_error', param: null, code: null })
    expect(sim.stats()).toMatchObject({ requests: 2, active: 0 })
  })

  test('drop-mid-stream sends a couple of chunks, then the client sees a broken body', async () => {
    await using sim = startSimulator({ instant: true })
    const res = await postJson(`${sim.url}/api/chat`, chat(true), { headers: { 'x-sim-fault': 'drop-mid-stream' } })
    expect(res.status).toBe(200)
    const { text, error } = await drain(res)
    expect(error).toBeDefined()
    const lines = text.split('\n').filter(Boolean)
    expect(lines.length).toBe(2)
    expect(lines.every((line) => JSON.parse(line).done === false)).toBe(true)
    await until(() => sim.stats().active === 0)
    expect(sim.stats().aborted).toBe(0)
  })

  test('drop-mid-stream breaks a non-streamed body as well', async () => {
    await using sim = startSimulator({ instant: true })
    const res = await postJson(`${sim.url}/v1/chat/completions`, chat(false), { headers: { 'x-sim-fault': 'drop-mid-stream' } })
    const { text, error } = await drain(res)
    expect(error).toBeDefined()
    expect(() => JSON.parse(text)).toThrow()
  })

  test('slow-first-byte delays the response headers', async () => {
    await using sim = startSimulator({ instant: true })
    const started = performance.now()
    const res = await postJson(`${sim.url}/api/chat`, chat(false), { headers: { 'x-sim-fault': 'slow-first-byte=150' } })
    expect(performance.now() - started).toBeGreaterThanOrEqual(140)
    expect(((await res.json()) as Json).done).toBe(true)
  })

  test('hang never answers; the client aborting it counts as aborted', async () => {
    await using sim = startSimulator({ instant: true })
    const controller = new AbortController()
    const pending = postJson(`${sim.url}/api/generate`, { model: MODEL, prompt: 'x' }, {
      headers: { 'x-sim-fault': 'hang' },
      signal: controller.signal,
    })
    await until(() => sim.stats().active === 1)
    let settled = false
    pending.then(() => (settled = true), () => (settled = true))
    await Bun.sleep(50)
    expect(settled).toBe(false)
    controller.abort()
    await expect(pending).rejects.toThrow()
    await until(() => sim.stats().aborted === 1 && sim.stats().active === 0)
  })

  test('POST /sim/faults applies a fault to the next N generation requests only', async () => {
    await using sim = startSimulator({ instant: true })
    const queued = await postJson(`${sim.url}/sim/faults`, { fault: 'status-503', count: 2 })
    expect(await queued.json()).toEqual({ pending: [{ fault: 'status-503', count: 2 }] })
    expect((await fetch(`${sim.url}/api/tags`)).status).toBe(200)
    const statuses = []
    for (let i = 0; i < 3; i++) statuses.push((await postJson(`${sim.url}/api/chat`, chat(false))).status)
    expect(statuses).toEqual([503, 503, 200])
  })

  test('POST /sim/faults can queue a mid-stream drop', async () => {
    await using sim = startSimulator({ instant: true })
    await postJson(`${sim.url}/sim/faults`, { fault: 'drop-mid-stream', count: 1 })
    expect((await drain(await postJson(`${sim.url}/api/chat`, chat(true)))).error).toBeDefined()
    expect((await drain(await postJson(`${sim.url}/api/chat`, chat(true)))).error).toBeUndefined()
  })

  test('an unknown fault is a 400', async () => {
    await using sim = startSimulator({ instant: true })
    expect((await postJson(`${sim.url}/sim/faults`, { fault: 'explode' })).status).toBe(400)
    expect((await postJson(`${sim.url}/api/chat`, chat(false), { headers: { 'x-sim-fault': 'explode' } })).status).toBe(400)
  })
})
