import { describe, expect, test } from 'bun:test'
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway } from '../support/gateway.ts'
import { until } from '../support/until.ts'

const routes = { auto: { SIMPLE: ['qwen2.5-coder:1.5b'], MODERATE: ['qwen2.5-coder:7b'], COMPLEX: ['deepseek-coder:33b'] } }
const freshDir = () => mkdtempSync(join(tmpdir(), 'switchyard-history-'))
const chat = (url: string, model: string, content: string, headers: Record<string, string> = {}) =>
  fetch(`${url}/api/chat`, { method: 'POST', headers, body: JSON.stringify({ model, stream: false, messages: [{ role: 'user', content }] }) })
const history = async (url: string, query = '', headers: Record<string, string> = {}) => {
  const res = await fetch(`${url}/router/history${query}`, { headers })
  return { status: res.status, body: (await res.json()) as { decisions: Record<string, unknown>[]; error?: { message: string } } }
}
const feedback = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url}/router/feedback`, { method: 'POST', headers, body: JSON.stringify(body) })

async function gatewayWith(extra: Record<string, unknown> = {}, historyOptions: Record<string, unknown> = {}) {
  const sim = startSimulator({ instant: true })
  const stateDir = freshDir()
  const gw = await startGateway({
    stateDir, backends: [{ name: 'sim', kind: 'ollama', url: sim.url }], routes,
    plugins: [{ use: 'learned-classifier' }, { use: 'sqlite-history', options: { flushMs: 5, ...historyOptions } }, ...fastProbes],
    ...extra,
  })
  return {
    gw, sim, stateDir, url: gw.url,
    async [Symbol.asyncDispose]() {
      await gw.close()
      await sim.close()
    },
  }
}

describe('decision history', () => {
  test('every generation answer carries a request id, also cache hits and errors after parsing, and the history has one row per request', async () => {
    await using t = await gatewayWith()
    const ids = new Set<string>()
    const ok = await chat(t.url, 'auto', 'write a docstring for this function')
    await ok.text()
    const body = { model: 'qwen2.5-coder:7b', stream: false, options: { temperature: 0 }, messages: [{ role: 'user', content: 'hi' }] }
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${t.url}/api/chat`, { method: 'POST', body: JSON.stringify(body) })
      await res.text()
      ids.add(res.headers.get('x-switchyard-request-id')!)
      if (i === 1) expect(res.headers.get('x-switchyard-cache')).toBe('hit')
    }
    const missing = await chat(t.url, 'no-such-model', 'x')
    expect(missing.status).toBe(404)
    const streamed = await fetch(`${t.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'auto', stream: true, messages: [{ role: 'user', content: 'explain recursion' }] }) })
    await streamed.text()
    for (const res of [ok, missing, streamed]) ids.add(res.headers.get('x-switchyard-request-id')!)
    expect(ids.size).toBe(5)
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{13,}$/)
    await until(async () => (await history(t.url)).body.decisions.length === 5, 2_000, 'five rows')
    const rows = (await history(t.url)).body.decisions
    const byId = new Map(rows.map((r) => [r.id as string, r]))
    const routed = byId.get(ok.headers.get('x-switchyard-request-id')!)!
    expect(routed).toMatchObject({ route: 'auto', requested: 'auto', protocol: 'ollama', operation: 'chat', status: 200, backend: 'sim' })
    expect(routed.label).toBe(ok.headers.get('x-switchyard-class'))
    expect(routed.model).toBe(ok.headers.get('x-switchyard-model'))
    expect(typeof routed.confidence).toBe('number')
    expect(routed.classifier).toBe('learned-classifier')
    expect(typeof routed.latencyMs).toBe('number')
    expect(routed.prompt).toBeUndefined()
    expect(routed.features).toBeUndefined()
    expect(byId.get(missing.headers.get('x-switchyard-request-id')!)).toMatchObject({ status: 404, requested: 'no-such-model' })
    expect(rows.some((r) => r.cache === 'hit')).toBe(true)
    expect((await history(t.url, '?class=BOGUS')).status).toBe(400)
    expect((await history(t.url, '?route=auto')).body.decisions.every((r) => r.route === 'auto')).toBe(true)
    expect((await history(t.url, '?limit=1')).body.decisions.length).toBe(1)
    expect((await history(t.url, `?since=${Date.now() + 60_000}`)).body.decisions.length).toBe(0)
  })

  test('request ids from two gateway instances never collide', async () => {
    await using a = await gatewayWith()
    await using b = await gatewayWith()
    const ids = new Set<string>()
    for (let i = 0; i < 5; i++) {
      for (const t of [a, b]) {
        const res = await chat(t.url, 'qwen2.5-coder:1.5b', `q ${i}`)
        await res.text()
        ids.add(res.headers.get('x-switchyard-request-id')!)
      }
    }
    expect(ids.size).toBe(10)
  })

  test('prompts are stored only with storePrompts, and features always go with routed decisions', async () => {
    await using t = await gatewayWith({}, { storePrompts: true })
    const res = await chat(t.url, 'auto', 'what does len() return?')
    await res.text()
    await until(async () => (await history(t.url)).body.decisions.length === 1, 2_000, 'a row')
    expect((await history(t.url)).body.decisions[0]!.prompt).toBe('what does len() return?')
    const stored = await t.gw.gateway.deps.plugins.of('history')[0]!.instance.get(res.headers.get('x-switchyard-request-id')!)
    expect(stored?.features?.index.length).toBeGreaterThan(3)
    expect(stored?.classifierVersion).toBeString()
  })

  test('feedback labels a decision: a label, a verdict one class up, the later one wins; errors name the field', async () => {
    await using t = await gatewayWith()
    const res = await chat(t.url, 'auto', 'write a docstring for def add(a, b)')
    await res.text()
    const id = res.headers.get('x-switchyard-request-id')!
    const label = res.headers.get('x-switchyard-class')!
    const up = { SIMPLE: 'MODERATE', MODERATE: 'COMPLEX', COMPLEX: 'COMPLEX' }[label]
    const weak = await feedback(t.url, { requestId: id, verdict: 'too-weak' })
    expect(weak.status).toBe(200)
    expect(await weak.json()).toEqual({ requestId: id, label: up, recorded: true })
    const explicit = await feedback(t.url, { requestId: id, label: 'SIMPLE' })
    expect(await explicit.json()).toEqual({ requestId: id, label: 'SIMPLE', recorded: true })
    const row = (await history(t.url)).body.decisions.find((d) => d.id === id)!
    expect(row.feedback).toEqual({ label: 'SIMPLE', source: 'feedback' })
    const labelled = await t.gw.gateway.deps.plugins.of('history')[0]!.instance.labelled()
    expect(labelled.map((d) => [d.id, d.correct, d.source])).toEqual([[id, 'SIMPLE', 'feedback']])

    const unknown = await feedback(t.url, { requestId: 'nope', label: 'SIMPLE' })
    expect(unknown.status).toBe(404)
    expect((await unknown.json()).error.message).toContain('nope')
    const bad = await feedback(t.url, { requestId: id, label: 'HUGE' })
    expect(bad.status).toBe(400)
    expect((await bad.json()).error.message).toStartWith('label:')
    const both = await feedback(t.url, { requestId: id, label: 'SIMPLE', verdict: 'good' })
    expect(both.status).toBe(400)
    const noId = await feedback(t.url, { label: 'SIMPLE' })
    expect((await noId.json()).error.message).toStartWith('requestId:')
    const notJson = await fetch(`${t.url}/router/feedback`, { method: 'POST', body: '{' })
    expect(notJson.status).toBe(400)
  })

  test('feedback is for the admin or the key that made the request (403 otherwise)', async () => {
    const keys = [{ name: 'alice', key: 'alice-key-123' }, { name: 'bob', key: 'bob-key-1234' }]
    await using t = await gatewayWith({ auth: { keys, adminKey: 'admin-key-123' } })
    const res = await chat(t.url, 'auto', 'refactor this module into classes', { authorization: 'Bearer alice-key-123' })
    await res.text()
    const id = res.headers.get('x-switchyard-request-id')!
    expect((await feedback(t.url, { requestId: id, verdict: 'good' }, { authorization: 'Bearer bob-key-1234' })).status).toBe(403)
    expect((await feedback(t.url, { requestId: id, verdict: 'good' })).status).toBe(401)
    expect((await feedback(t.url, { requestId: id, verdict: 'good' }, { authorization: 'Bearer alice-key-123' })).status).toBe(200)
    expect((await feedback(t.url, { requestId: id, label: 'COMPLEX' }, { authorization: 'Bearer admin-key-123' })).status).toBe(200)
    expect((await history(t.url)).status).toBe(401)
    const rows = (await history(t.url, '', { authorization: 'Bearer admin-key-123' })).body.decisions
    expect(rows[0]).toMatchObject({ id, client: 'alice', feedback: { label: 'COMPLEX', source: 'feedback' } })
  })

  test('x-switchyard-class forces the class, says so, and is recorded as the request\'s label; a bad value is a 400', async () => {
    await using t = await gatewayWith()
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'unused', defaultHeaders: { 'x-switchyard-class': 'complex' } })
    const { data, response } = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'hi' }] }).withResponse()
    expect(data.model).toBe('deepseek-coder:33b')
    expect(response.headers.get('x-switchyard-class')).toBe('COMPLEX')
    expect(response.headers.get('x-switchyard-reason')).toContain('forced COMPLEX by x-switchyard-class')
    const id = response.headers.get('x-switchyard-request-id')!
    await until(async () => (await history(t.url)).body.decisions[0]?.feedback !== null, 2_000, 'the forced label')
    expect((await history(t.url)).body.decisions[0]).toMatchObject({ id, label: 'COMPLEX', forced: true, feedback: { label: 'COMPLEX', source: 'forced' } })
    const bad = await chat(t.url, 'auto', 'hi', { 'x-switchyard-class': 'HUGE' })
    expect(bad.status).toBe(400)
    expect((await bad.json()).error).toContain('x-switchyard-class')
  })

  test('the same prompt sent again with a higher-tier model marks the first decision too weak', async () => {
    await using t = await gatewayWith()
    const prompt = 'what is a list comprehension?'
    const first = await chat(t.url, 'auto', prompt, { 'x-switchyard-class': 'SIMPLE' })
    await first.text()
    const firstId = first.headers.get('x-switchyard-request-id')!
    const retry = await chat(t.url, 'deepseek-coder:33b', prompt)
    await retry.text()
    await until(async () => (await history(t.url)).body.decisions.find((d) => d.id === firstId)?.feedback?.valueOf() !== undefined, 2_000, 'rows')
    await until(async () => {
      const row = (await history(t.url)).body.decisions.find((d) => d.id === firstId)
      return (row?.feedback as { source?: string } | null)?.source === 'forced'
    }, 2_000, 'forced label on the first')
    // An inferred label never overrides what the client said itself: the forced SIMPLE stays.
    const other = await chat(t.url, 'auto', 'how do I reverse a string in python')
    await other.text()
    const otherId = other.headers.get('x-switchyard-request-id')!
    const otherLabel = other.headers.get('x-switchyard-class')!
    const stronger = otherLabel === 'COMPLEX' ? undefined : await chat(t.url, 'deepseek-coder:33b', 'how do I reverse a string in python')
    await stronger?.text()
    if (stronger) {
      const expected = otherLabel === 'SIMPLE' ? 'MODERATE' : 'COMPLEX'
      await until(async () => (await history(t.url)).body.decisions.find((d) => d.id === otherId)?.feedback !== null, 2_000, 'the retry label')
      expect((await history(t.url)).body.decisions.find((d) => d.id === otherId)!.feedback).toEqual({ label: expected, source: 'retry' })
    }
    expect((await history(t.url)).body.decisions.find((d) => d.id === firstId)!.feedback).toEqual({ label: 'SIMPLE', source: 'forced' })
  })

  test('implicit feedback can be turned off', async () => {
    await using t = await gatewayWith({ feedback: { implicit: false } })
    const first = await chat(t.url, 'auto', 'how do I reverse a string in python', { 'x-switchyard-class': 'SIMPLE' })
    await first.text()
    const again = await chat(t.url, 'auto', 'how do I reverse a string in python', { 'x-switchyard-class': 'COMPLEX' })
    await again.text()
    await until(async () => (await history(t.url)).body.decisions.length === 2, 2_000, 'rows')
    const rows = (await history(t.url)).body.decisions
    expect(rows.map((r) => (r.feedback as { source: string }).source)).toEqual(['forced', 'forced'])
  })

  test('a history file that is not a database: the gateway serves, says so once, and records in memory', async () => {
    const dir = freshDir()
    writeFileSync(join(dir, 'switchyard-history.db'), 'this is not a database '.repeat(200))
    await using t = await gatewayWith({ stateDir: dir })
    const res = await chat(t.url, 'auto', 'hello')
    expect(res.status).toBe(200)
    await res.text()
    const health = await (await fetch(`${t.url}/health`)).json()
    expect(health.history).toMatchObject([{ name: 'sqlite-history', mode: 'memory', failing: false, dropped: 0 }])
    await until(async () => (await history(t.url)).body.decisions.length === 1, 2_000, 'a row in memory')
  })

  test('a history that cannot be written keeps decisions in memory, logs once, and writes them when it can again', async () => {
    const dir = freshDir()
    await using t = await gatewayWith({ stateDir: dir })
    const warm = await chat(t.url, 'auto', 'warm up')
    await warm.text()
    const store = t.gw.gateway.deps.plugins.of('history')[0]!.instance
    await until(async () => (await history(t.url)).body.decisions.length === 1, 2_000, 'first row')
    // Lock the database from outside, as another process holding a write transaction would.
    const { Database } = await import('bun:sqlite')
    const locker = new Database(join(dir, 'switchyard-history.db'))
    locker.exec('PRAGMA busy_timeout = 0; BEGIN IMMEDIATE')
    for (let i = 0; i < 3; i++) {
      const res = await chat(t.url, 'qwen2.5-coder:1.5b', `during the lock ${i}`)
      expect(res.status).toBe(200)
      await res.text()
    }
    await until(() => store.state?.().failing === true, 8_000, 'writes to fail')
    expect((await (await fetch(`${t.url}/health`)).json()).history[0]).toMatchObject({ mode: 'file', failing: true, pending: 3 })
    locker.exec('ROLLBACK')
    locker.close()
    await until(() => store.state?.().pending === 0, 8_000, 'the backlog to drain')
    expect(store.state?.().failing).toBe(false)
    expect((await history(t.url)).body.decisions.length).toBe(4)
  }, 20_000)

  test('retention drops the oldest rows past maxRows and keeps labelled ones', async () => {
    const { openHistoryStore } = await import('../../plugins/sqlite-history/store.ts')
    const store = openHistoryStore(join(freshDir(), 'h.db'), { maxRows: 10, maxAgeDays: 1 })
    const base = { protocol: 'openai', operation: 'chat', requested: 'auto', status: 200, latencyMs: 1, promptHash: 'h' } as const
    const now = Date.now()
    store.record({ ...base, id: 'ancient', timeMs: now - 3 * 86_400_000 })
    store.record({ ...base, id: 'ancient-labelled', timeMs: now - 3 * 86_400_000, label: 'SIMPLE' })
    for (let i = 0; i < 20; i++) store.record({ ...base, id: `r${i}`, timeMs: now - 1000 + i })
    expect(store.label('ancient-labelled', 'COMPLEX', 'feedback')).toBe(true)
    expect(store.count()).toBe(22)
    store.prune()
    expect(store.count()).toBe(10)
    const ids = store.list({ limit: 100 }).map((d) => d.id)
    expect(ids).toContain('ancient-labelled')
    expect(ids).not.toContain('ancient')
    expect(ids).toContain('r19')
    expect(ids).not.toContain('r0')
    store.close()
  })

  test('a read-only state folder: the gateway still starts and serves', async () => {
    if (process.getuid?.() === 0) {
      // root writes anyway; the unopenable-file case above covers the fallback.
      const dir = freshDir()
      chmodSync(dir, 0o500)
      await using t = await gatewayWith({ stateDir: dir })
      const res = await chat(t.url, 'auto', 'hello')
      expect(res.status).toBe(200)
      return
    }
    const dir = freshDir()
    chmodSync(dir, 0o500)
    await using t = await gatewayWith({ stateDir: dir })
    const res = await chat(t.url, 'auto', 'hello')
    expect(res.status).toBe(200)
    expect((await (await fetch(`${t.url}/health`)).json()).history[0].mode).toBe('memory')
  })
})
