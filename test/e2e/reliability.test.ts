import { describe, expect, test } from 'bun:test'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway } from '../support/gateway.ts'
import { startGatewayProcess } from '../support/process.ts'
import { startRedis } from '../support/redis.ts'
import { until } from '../support/until.ts'

const body = (model: string, extra: Record<string, unknown> = {}) => JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }], ...extra })

describe('faults and limits', () => {
  test('a backend dropping the connection mid-stream ends the client stream with an error in its protocol', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: fastProbes })
    await fetch(`${sim.url}/sim/faults`, { method: 'POST', body: JSON.stringify({ fault: 'drop-mid-stream', count: 2 }) })
    const ndjson = await (await fetch(`${gw.url}/api/chat`, { method: 'POST', body: body('qwen2.5-coder:7b') })).text()
    const last = JSON.parse(ndjson.trim().split('\n').at(-1) ?? '{}')
    expect(last.error).toContain('mid-stream')
    const sse = await (await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', body: body('qwen2.5-coder:7b', { stream: true }) })).text()
    const events = sse.trim().split('\n\n')
    expect(JSON.parse(events.at(-1)!.slice('data: '.length)).error.message).toContain('mid-stream')
    await until(() => gw.gateway.deps.health.views()[0]?.inFlight === 0, 2_000, 'in-flight back to 0')
  })

  test('a body over server.maxBodyBytes is a 413 in the caller shape', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ server: { maxBodyBytes: 1_000 }, backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: fastProbes })
    const big = body('qwen2.5-coder:7b', { pad: 'x'.repeat(5_000) })
    const openai = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', body: big })
    expect(openai.status).toBe(413)
    expect((await openai.json()).error.code).toBe('payload_too_large')
    const ollama = await fetch(`${gw.url}/api/chat`, { method: 'POST', body: big })
    expect(ollama.status).toBe(413)
    expect(typeof (await ollama.json()).error).toBe('string')
    expect(sim.stats().requests).toBe(0)
  })

  test('a saturated backend queues up to maxQueue, then answers 429 with Retry-After', async () => {
    await using sim = startSimulator({ speed: 1, outputTokens: 600 })
    await using gw = await startGateway({
      backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url, maxConcurrency: 1, maxQueue: 1 }],
      plugins: fastProbes,
    })
    const send = (signal: AbortSignal) =>
      fetch(`${gw.url}/api/chat`, { method: 'POST', body: body('qwen2.5-coder:1.5b'), signal }).catch(() => undefined)
    const running = new AbortController()
    const queued = new AbortController()
    const first = send(running.signal)
    await until(() => sim.stats().active === 1, 2_000, 'the first request to run')
    const second = send(queued.signal)
    await until(() => gw.gateway.deps.admission.queued('gpu0') === 1, 2_000, 'the second request to queue')
    const third = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', body: body('qwen2.5-coder:1.5b') })
    expect(third.status).toBe(429)
    expect(third.headers.get('retry-after')).toBe('1')
    expect((await third.json()).error.code).toBe('overloaded')
    // A client leaving while queued leaves the queue and never reaches the backend.
    queued.abort()
    await until(() => gw.gateway.deps.admission.queued('gpu0') === 0, 2_000, 'the queue to empty')
    running.abort()
    await Promise.all([first, second])
    await until(() => sim.stats().active === 0, 3_000, 'everything released')
    expect(sim.stats().requests).toBe(1)
    expect(sim.stats().aborted).toBe(1)
  })

  test('no first byte within server.firstByteTimeoutMs: the attempt is cut off and the next backend answers', async () => {
    await using slow = startSimulator({ instant: true, models: ['qwen2.5-coder:1.5b'] })
    await using fast = startSimulator({ instant: true, models: ['qwen2.5-coder:1.5b'] })
    await using gw = await startGateway({
      server: { firstByteTimeoutMs: 300, coldStartTimeoutMs: 300 },
      backends: [{ name: 'slow', kind: 'ollama', url: slow.url }, { name: 'fast', kind: 'ollama', url: fast.url }],
      plugins: fastProbes,
    })
    await fetch(`${slow.url}/sim/faults`, { method: 'POST', body: JSON.stringify({ fault: 'hang', count: 5 }) })
    await fetch(`${fast.url}/sim/faults`, { method: 'POST', body: JSON.stringify({ fault: 'hang', count: 1 }) })
    // Both hang on the first request: a 504 after one cut-off attempt each, in well under the 30 s a hang lasts.
    const started = performance.now()
    const both = await fetch(`${gw.url}/api/chat`, { method: 'POST', body: body('qwen2.5-coder:1.5b') })
    expect(both.status).toBe(504)
    expect((await both.json()).error).toContain('no response within 300 ms')
    expect(performance.now() - started).toBeLessThan(5_000)
    // Next, only `slow` hangs: whichever is tried first, `fast` answers, and a cut-off attempt is named in the reason.
    const answered = await fetch(`${gw.url}/api/chat`, { method: 'POST', body: body('qwen2.5-coder:1.5b') })
    expect(answered.status).toBe(200)
    expect(answered.headers.get('x-switchyard-backend')).toBe('fast')
    await answered.text()
    await until(() => slow.stats().active === 0 && fast.stats().active === 0, 2_000, 'the cut-off attempts to be aborted upstream')
    expect(slow.stats().aborted).toBeGreaterThanOrEqual(1)
  })

  test('a stream still running at server.requestTimeoutMs ends with an error frame and is aborted upstream', async () => {
    await using sim = startSimulator({ speed: 1, outputTokens: 600 })
    await using gw = await startGateway({ server: { requestTimeoutMs: 400 }, backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: fastProbes })
    const res = await fetch(`${gw.url}/api/chat`, { method: 'POST', body: body('qwen2.5-coder:1.5b', { stream: true }) })
    expect(res.status).toBe(200)
    const lines = (await res.text()).trim().split('\n')
    expect(lines.length).toBeGreaterThan(1)
    expect(JSON.parse(lines.at(-1)!).error).toContain('no complete response within 400 ms')
    await until(() => sim.stats().active === 0, 2_000, 'the upstream generation to stop')
    expect(sim.stats().aborted).toBe(1)
  })
})

describe('auth and rate limits', () => {
  const auth = {
    keys: [
      { name: 'alice', key: 'alice-secret-key', requestsPerMinute: 2 },
      { name: 'bob', key: 'bob-secret-key-1', models: ['qwen2.5-coder:1.5b'] },
    ],
    adminKey: 'admin-secret-key',
  }

  test('model endpoints need a valid key, in each protocol shape', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ auth, backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: fastProbes })
    const none = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', body: body('qwen2.5-coder:7b') })
    expect(none.status).toBe(401)
    expect((await none.json()).error.code).toBe('unauthorized')
    const wrong = await fetch(`${gw.url}/api/chat`, { method: 'POST', body: body('qwen2.5-coder:7b'), headers: { authorization: 'Bearer nope-nope-nope' } })
    expect(wrong.status).toBe(401)
    expect((await wrong.json()).error).toBe('invalid API key')
    const tags = await fetch(`${gw.url}/api/tags`)
    expect(tags.status).toBe(401)
    const ok = await fetch(`${gw.url}/api/chat`, { method: 'POST', body: body('qwen2.5-coder:7b', { stream: false }), headers: { authorization: 'Bearer alice-secret-key' } })
    expect(ok.status).toBe(200)
    await ok.text()
    expect(sim.stats().requests).toBe(1)
  })

  test('a key limited to some models gets 403 for others', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ auth, backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: fastProbes })
    const headers = { 'x-api-key': 'bob-secret-key-1' }
    const denied = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', body: body('deepseek-coder:33b'), headers })
    expect(denied.status).toBe(403)
    expect((await denied.json()).error.message).toContain('qwen2.5-coder:1.5b')
    const allowed = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', body: body('qwen2.5-coder:1.5b'), headers })
    expect(allowed.status).toBe(200)
    await allowed.text()
  })

  test('requestsPerMinute is enforced with 429 and Retry-After', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ auth, backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: fastProbes })
    const headers = { authorization: 'Bearer alice-secret-key' }
    const statuses: number[] = []
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', body: body('qwen2.5-coder:7b'), headers })
      statuses.push(res.status)
      if (res.status === 429) expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0)
      await res.text()
    }
    expect(statuses).toEqual([200, 200, 429])
  })

  test('two gateways share rate limits through Redis, and keep serving when Redis dies', async () => {
    await using sim = startSimulator({ instant: true })
    await using redis = await startRedis()
    const shared = { keys: [{ name: 'carol', key: 'carol-secret-key', requestsPerMinute: 3 }], redis: { url: redis.url } }
    await using one = await startGateway({ auth: shared, backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: fastProbes })
    await using two = await startGateway({ auth: shared, backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: fastProbes })
    const headers = { authorization: 'Bearer carol-secret-key' }
    const statuses: number[] = []
    for (const gw of [one, two, one, two]) {
      const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', body: body('qwen2.5-coder:7b'), headers })
      statuses.push(res.status)
      await res.text()
    }
    expect(statuses).toEqual([200, 200, 200, 429])
    await redis.kill()
    const after = await fetch(`${one.url}/v1/chat/completions`, { method: 'POST', body: body('qwen2.5-coder:7b'), headers: { authorization: 'Bearer alice-secret-key' } })
    expect(after.status).toBe(401)
    const served = await fetch(`${two.url}/v1/chat/completions`, { method: 'POST', body: body('qwen2.5-coder:7b'), headers })
    expect(served.status).toBe(200)
    await served.text()
    expect(two.logs.join('')).toContain('Redis unavailable for rate limits')
  })

  test('admin endpoints need the admin key; /health without it shows only the status', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ auth, backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: fastProbes })
    const explainBody = body('auto')
    expect((await fetch(`${gw.url}/router/explain`, { method: 'POST', body: explainBody })).status).toBe(401)
    // A client key may explain its own (policy-filtered) decision; a wrong key may not.
    expect((await fetch(`${gw.url}/router/explain`, { method: 'POST', body: explainBody, headers: { authorization: 'Bearer alice-secret-key' } })).status).toBe(200)
    expect((await fetch(`${gw.url}/router/explain`, { method: 'POST', body: explainBody, headers: { authorization: 'Bearer not-a-key-at-all' } })).status).toBe(401)
    expect((await fetch(`${gw.url}/router/explain`, { method: 'POST', body: explainBody, headers: { authorization: 'Bearer admin-secret-key' } })).status).toBe(200)
    expect(await (await fetch(`${gw.url}/health`)).json()).toEqual({ status: 'ok' })
    const detailed = await (await fetch(`${gw.url}/health`, { headers: { authorization: 'Bearer admin-secret-key' } })).json()
    expect(detailed.backends[0].name).toBe('gpu0')
    expect((await fetch(`${gw.url}/health/live`)).status).toBe(200)
  })

  test('the dashboard page is public; its data needs the admin key, as a header or the dashboard cookie', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ auth, backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: fastProbes })
    expect((await fetch(`${gw.url}/dashboard`)).status).toBe(200)
    expect((await fetch(`${gw.url}/dashboard/`)).status).toBe(200)
    expect((await fetch(`${gw.url}/dashboard/app.js`)).status).toBe(200)
    expect((await fetch(`${gw.url}/dashboard/state`)).status).toBe(401)
    expect((await fetch(`${gw.url}/dashboard/state`, { headers: { cookie: 'switchyard_admin=wrong-key-value' } })).status).toBe(401)
    expect((await fetch(`${gw.url}/dashboard/state`, { headers: { cookie: 'switchyard_admin=%E0%A4%A' } })).status).toBe(401)
    expect((await fetch(`${gw.url}/dashboard/state`, { headers: { cookie: 'other=1; switchyard_admin=admin-secret-key' } })).status).toBe(200)
    expect((await fetch(`${gw.url}/dashboard/state`, { headers: { authorization: 'Bearer admin-secret-key' } })).status).toBe(200)
  })

  test('the client Authorization header is not forwarded upstream; a backend apiKey is', async () => {
    const seen: (string | null)[] = []
    await using upstream = Bun.serve({
      port: 0, hostname: '127.0.0.1',
      fetch(req) {
        const url = new URL(req.url)
        if (url.pathname === '/v1/models') return Response.json({ object: 'list', data: [{ id: 'm1', object: 'model', created: 0, owned_by: 'x' }] })
        if (req.method !== 'POST') return new Response('not found', { status: 404 })
        seen.push(req.headers.get('authorization'))
        return Response.json({ id: 'x', object: 'chat.completion', created: 0, model: 'm1', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }] })
      },
    })
    await using gw = await startGateway({
      auth: { keys: [{ key: 'client-secret-key' }] },
      backends: [{ name: 'hosted', kind: 'openai', url: `http://127.0.0.1:${upstream.port}`, apiKey: 'upstream-key' }],
      plugins: fastProbes,
    })
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', body: body('m1'), headers: { authorization: 'Bearer client-secret-key' } })
    expect(res.status).toBe(200)
    expect(seen).toEqual(['Bearer upstream-key'])
  })

  test('every call to a keyed Ollama backend carries its key: probes, pre-warm, show and chat', async () => {
    const seen: string[] = []
    const model = { name: 'm1:latest', model: 'm1:latest', size: 1, digest: 'x', details: { parameter_size: '1B' } }
    await using upstream = Bun.serve({
      port: 0, hostname: '127.0.0.1',
      async fetch(req) {
        const path = new URL(req.url).pathname
        seen.push(`${path} ${req.headers.get('authorization')}`)
        if (req.headers.get('authorization') !== 'Bearer upstream-key') return Response.json({ error: 'unauthorized' }, { status: 401 })
        if (path === '/api/tags') return Response.json({ models: [model] })
        if (path === '/api/ps') return Response.json({ models: [] })
        if (path === '/api/show') return Response.json({ modelfile: '', parameters: '', template: '', details: { parameter_size: '1B' }, model_info: {} })
        await req.text()
        return Response.json({ model: 'm1:latest', created_at: new Date().toISOString(), message: { role: 'assistant', content: 'hi' }, response: '', done: true })
      },
    })
    await using gw = await startGateway({
      backends: [{ name: 'keyed', kind: 'ollama', url: `http://127.0.0.1:${upstream.port}`, apiKey: 'upstream-key' }],
      models: { 'm1:latest': { keepWarm: true } },
      plugins: fastProbes,
    })
    const show = await fetch(`${gw.url}/api/show`, { method: 'POST', body: JSON.stringify({ model: 'm1' }) })
    expect(show.status).toBe(200)
    const chat = await fetch(`${gw.url}/api/chat`, { method: 'POST', body: body('m1', { stream: false }) })
    expect(chat.status).toBe(200)
    await until(() => seen.some((s) => s.startsWith('/api/generate')), 2_000, 'the pre-warm request')
    const paths = new Set(seen.map((s) => s.split(' ')[0]))
    for (const path of ['/api/tags', '/api/show', '/api/chat', '/api/generate']) expect(paths).toContain(path)
    expect(seen.filter((s) => !s.endsWith('Bearer upstream-key'))).toEqual([])
  })
})

describe('the gateway process', () => {
  const writeConfig = async (path: string, simUrl: string, extra: Record<string, unknown> = {}) =>
    Bun.write(path, JSON.stringify({ backends: [{ name: 'gpu0', kind: 'ollama', url: simUrl }], plugins: fastProbes, ...extra }))

  test('SIGHUP with a bad config keeps the old one serving; a good one takes effect', async () => {
    await using sim = startSimulator({ instant: true, models: ['qwen2.5-coder:7b'] })
    await using other = startSimulator({ instant: true, models: ['llama3.2:3b'] })
    const path = join(mkdtempSync(join(tmpdir(), 'sy-')), 'switchyard.config.json')
    await writeConfig(path, sim.url)
    await using gw = await startGatewayProcess(path)
    await Bun.write(path, '{"backends": [{"name": "gpu0", "kind": "ollama", "url": 12}]}')
    gw.proc.kill('SIGHUP')
    await until(() => gw.log().includes('config reload rejected'), 3_000, 'the rejection in the log')
    expect(gw.log()).toContain('backends[0].url')
    const still = await fetch(`${gw.url}/api/chat`, { method: 'POST', body: body('qwen2.5-coder:7b', { stream: false }) })
    expect(still.status).toBe(200)
    await writeConfig(path, other.url)
    gw.proc.kill('SIGHUP')
    await until(() => gw.log().includes('config reloaded'), 3_000, 'the reload')
    const tags = await (await fetch(`${gw.url}/api/tags`)).json()
    expect(tags.models.map((m: { name: string }) => m.name)).toContain('llama3.2:3b')
  })

  test('SIGTERM during a stream lets it finish, then exits 0', async () => {
    await using sim = startSimulator({ speed: 10, outputTokens: 40 })
    const path = join(mkdtempSync(join(tmpdir(), 'sy-')), 'switchyard.config.json')
    await writeConfig(path, sim.url)
    await using gw = await startGatewayProcess(path)
    const res = await fetch(`${gw.url}/api/chat`, { method: 'POST', body: body('qwen2.5-coder:1.5b') })
    const reader = res.body!.getReader()
    await reader.read()
    gw.proc.kill('SIGTERM')
    let text = ''
    const decoder = new TextDecoder()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      text += decoder.decode(value)
    }
    const last = JSON.parse(text.trim().split('\n').at(-1) ?? '{}')
    expect(last.done).toBe(true)
    expect(await gw.proc.exited).toBe(0)
    await expect(fetch(`${gw.url}/api/tags`)).rejects.toThrow()
  }, 10_000)
})
