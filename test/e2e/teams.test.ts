/** Teams: allow-lists through routing, team route overrides and bias, shared budgets, usage per team; fuzzed auth inputs. */
import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { Ollama } from 'ollama'
import OpenAI from 'openai'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway } from '../support/gateway.ts'
import { startRedis } from '../support/redis.ts'
import { until } from '../support/until.ts'

const SMALL = 'qwen2.5-coder:1.5b'
const MIDDLE = 'qwen2.5-coder:7b'
const LARGE = 'deepseek-coder:33b'
const HARD = 'Design a distributed job scheduler: the architecture, the data model, failure handling, and the full implementation.'

const keys = [
  { name: 'alice', key: 'alice-key-1234' },
  { name: 'bob', key: 'bob-key-12345' },
  { name: 'carol', key: 'carol-key-1234', team: 'web' },
  { name: 'dave', key: 'dave-key-12345' },
  { name: 'erin', key: 'erin-key-12345', team: 'tiny' },
]
const teams = [
  { name: 'ml', keys: ['alice'], models: ['auto'], routes: { auto: { COMPLEX: [MIDDLE] } } },
  { name: 'web', keys: ['bob'], models: [SMALL], requestsPerMinute: 4 },
  { name: 'tiny', gpuSecondsPerDay: 0.000001 },
]
const routes = { auto: { SIMPLE: [SMALL], MODERATE: [MIDDLE], COMPLEX: [LARGE], escalate: { auditor: 'verdict-auditor' } } }

async function teamGateway(redisUrl?: string, sim = startSimulator({ instant: true })) {
  const gw = await startGateway({
    auth: { adminKey: 'admin-key-123', keys, teams, ...(redisUrl ? { redis: { url: redisUrl } } : {}) },
    backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], routes,
    plugins: [{ use: './plugins/examples/length-classifier.ts' }, { use: './test/fixtures/plugins/verdict-auditor.ts' }, ...fastProbes],
  })
  await until(() => gw.gateway.deps.health.modelNames().length >= 3, 3_000, 'models discovered')
  return { gw, sim, async [Symbol.asyncDispose]() { await gw.close(); await sim.close() } }
}

const ask = (url: string, key: string, content: string, headers: Record<string, string> = {}, model = 'auto') =>
  fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, ...headers }, body: JSON.stringify({ model, messages: [{ role: 'user', content }] }) })

describe('teams', () => {
  test('answers name the team; a team route override and the route for everyone else', async () => {
    await using t = await teamGateway()
    const alice = await ask(t.gw.url, 'alice-key-1234', HARD, { 'x-switchyard-class': 'COMPLEX' })
    expect(alice.headers.get('x-switchyard-team')).toBe('ml')
    expect(alice.headers.get('x-switchyard-model')).toBe(MIDDLE)
    const dave = await ask(t.gw.url, 'dave-key-12345', HARD, { 'x-switchyard-class': 'COMPLEX' })
    expect(dave.headers.get('x-switchyard-team')).toBeNull()
    expect(dave.headers.get('x-switchyard-model')).toBe(LARGE)
    // The team's own version of the route has its own cache entries: dave's answer is not alice's.
    const again = await ask(t.gw.url, 'alice-key-1234', HARD, { 'x-switchyard-class': 'COMPLEX' })
    expect(again.headers.get('x-switchyard-model')).toBe(MIDDLE)
    // Errors carry the team too.
    const refused = await ask(t.gw.url, 'alice-key-1234', 'hi', {}, LARGE)
    expect(refused.status).toBe(403)
    expect(refused.headers.get('x-switchyard-team')).toBe('ml')
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain('may not use model "deepseek-coder:33b"')
  })

  test('/router/explain with a team key shows the decision as that team gets it', async () => {
    await using t = await teamGateway()
    const explain = (key: string) => fetch(`${t.gw.url}/router/explain`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'x'.repeat(5_000) }] }) }).then((r) => r.json() as Promise<{ model: string; team: string | null; class: string }>)
    expect(await explain('alice-key-1234')).toMatchObject({ class: 'COMPLEX', model: MIDDLE, team: 'ml' })
    expect(await explain('dave-key-12345')).toMatchObject({ class: 'COMPLEX', model: LARGE, team: null })
    expect(await explain('bob-key-12345')).toMatchObject({ model: SMALL, team: 'web' })
  })

  test("a team limited to one model never gets another through auto, streamed or not, with both clients and escalation on", async () => {
    await using t = await teamGateway()
    const openai = new OpenAI({ baseURL: `${t.gw.url}/v1`, apiKey: 'bob-key-12345', defaultHeaders: { 'x-switchyard-class': 'COMPLEX' } })
    const { data, response } = await openai.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: HARD }] }).withResponse()
    expect(data.model).toBe(SMALL)
    expect(response.headers.get('x-switchyard-reason')).toContain('policy: no COMPLEX model of route auto is allowed for team web; answered as SIMPLE')
    // A failing draft has nowhere allowed to go: it is sent, not escalated to a model the team may not use.
    const stream = await new OpenAI({ baseURL: `${t.gw.url}/v1`, apiKey: 'carol-key-1234' }).chat.completions.create({ model: 'auto', stream: true, messages: [{ role: 'user', content: 'hi [fail-draft]' }] })
    for await (const chunk of stream) expect(chunk.model).toBe(SMALL)
    const ollama = new Ollama({ host: t.gw.url, headers: { authorization: 'Bearer carol-key-1234' } })
    for await (const part of await ollama.chat({ model: 'auto', stream: true, messages: [{ role: 'user', content: HARD }] })) expect(part.model).toBe(SMALL)
  })

  test('a team budget is shared by its keys; a GPU-seconds-per-day budget refuses once spent', async () => {
    await using t = await teamGateway()
    const statuses: number[] = []
    for (const key of ['bob-key-12345', 'carol-key-1234', 'bob-key-12345', 'carol-key-1234', 'bob-key-12345']) statuses.push((await ask(t.gw.url, key, 'hi')).status)
    expect(statuses).toEqual([200, 200, 200, 200, 429])
    const over = await ask(t.gw.url, 'carol-key-1234', 'hi')
    expect(((await over.json()) as { error: { message: string } }).error.message).toContain('team web is over its requestsPerMinute limit (4)')
    // New prompts: a cached answer spends no GPU time.
    expect((await ask(t.gw.url, 'erin-key-12345', 'hello there')).status).toBe(200)
    const spent = await ask(t.gw.url, 'erin-key-12345', 'hello again')
    expect(spent.status).toBe(429)
    expect(spent.headers.get('retry-after')).toMatch(/^\d+$/)
    expect(((await spent.json()) as { error: { message: string } }).error.message).toContain('team tiny has used its gpuSecondsPerDay budget (0.000001')
  })

  test('team budgets hold across two instances on one Redis', async () => {
    await using redis = await startRedis()
    await using a = await teamGateway(redis.url)
    await using b = await teamGateway(redis.url, a.sim)
    const statuses: number[] = []
    for (const url of [a.gw.url, b.gw.url, a.gw.url, b.gw.url, a.gw.url, b.gw.url]) statuses.push((await ask(url, 'bob-key-12345', 'hi')).status)
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429])
  })

  test('usage per team: metrics labels and the history', async () => {
    await using t = await teamGateway()
    await ask(t.gw.url, 'alice-key-1234', 'hi').then((r) => r.text())
    const bob = await ask(t.gw.url, 'bob-key-12345', 'hello')
    const id = bob.headers.get('x-switchyard-request-id')!
    await bob.text()
    await ask(t.gw.url, 'dave-key-12345', 'hey').then((r) => r.text())
    const metrics = await fetch(`${t.gw.url}/metrics`, { headers: { authorization: 'Bearer admin-key-123' } }).then((r) => r.text())
    for (const team of ['ml', 'web', 'none']) {
      expect(metrics).toMatch(new RegExp(`switchyard_requests_total\\{[^}]*status="200",team="${team}"\\} 1`))
      expect(metrics).toMatch(new RegExp(`switchyard_tokens_total\\{[^}]*token_type="output"[^}]*team="${team}"\\} \\d+`))
      expect(metrics).toMatch(new RegExp(`switchyard_gpu_seconds_total\\{[^}]*team="${team}"\\} [0-9.e-]+`))
    }
    const history = t.gw.gateway.deps.plugins.of('history')[0]!.instance
    await history.flush?.()
    expect((await history.get(id))?.team).toBe('web')
    const listed = (await fetch(`${t.gw.url}/router/history?team=web`, { headers: { authorization: 'Bearer admin-key-123' } }).then((r) => r.json())) as { decisions: { team: string }[] }
    expect(listed.decisions.length).toBeGreaterThan(0)
    expect(listed.decisions.every((d) => d.team === 'web')).toBe(true)
  })

  test('fuzzed keys, headers and model names (control characters included) never get a 5xx', async () => {
    await using t = await teamGateway()
    const text = fc.string({ unit: fc.constantFrom('a', 'Z', '0', ':', '.', '/', ' ', '\u0000', '\u0007', '\t', '\u00e9', '\u{1F600}', '"', '\\'), maxLength: 24 })
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('alice-key-1234', 'bob-key-12345', 'nope', ''), text, text, text, async (key, model, cls, team) => {
        const headers = new Headers()
        const safe = (s: string) => s.replace(/[^\t\x20-\x7e]/g, '')
        if (key) headers.set('authorization', `Bearer ${key}`)
        if (safe(cls)) headers.set('x-switchyard-class', safe(cls))
        if (safe(team)) headers.set('x-switchyard-team', safe(team))
        const res = await fetch(`${t.gw.url}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }) })
        await res.arrayBuffer()
        return res.status < 500
      }),
      { numRuns: 120 },
    )
  }, 30_000)
})
