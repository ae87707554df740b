/** The per-team panel's figures (requests, tokens, GPU seconds, savings, escalations) and the team on each decision. */
import { describe, expect, test } from 'bun:test'
import * as v from 'valibot'
import { keepNothing } from 'switchyard/plugin'
import dashboard from '../../plugins/dashboard/index.ts'
import { parseConfig } from '../../src/config/load.ts'
import { createLogger } from '../../src/log.ts'
import type { PipelineEvent, PluginInstance } from '../../src/plugin/types.ts'
import { startTwoBackends, twoBackendsConfig } from './setup.ts'

async function setup(options: Record<string, unknown> = {}) {
  const instance = (await dashboard.setup({
    name: 'dashboard', options: v.parse(dashboard.options, options), signal: new AbortController().signal, log: createLogger('dashboard', () => {}),
    gateway: { backends: [] }, baseDir: process.cwd(), keep: keepNothing,
  })) as PluginInstance<'telemetry'>
  const get = async (path: string) => {
    const route = instance.routes!.find((r) => (r.path.endsWith('*') ? path.startsWith(r.path.slice(0, -1)) : r.path === path))!
    return await route.handle(new Request(`http://x${path}`))
  }
  return { instance, get, state: async () => (await (await get('/dashboard/state')).json()) as any }
}

const request = { protocol: 'openai', operation: 'chat', model: 'auto', messages: [], stream: false, body: {} } as const
const classification = { label: 'SIMPLE', confidence: 0.8, scores: { SIMPLE: 0.8, MODERATE: 0.1, COMPLEX: 0.1 }, reasons: ['short'] } as const
const escalation = { from: 'small', to: 'medium', reason: 'audit', mode: 'buffer', label: 'MODERATE' } as const
const use = (model: string, seconds: number, role: 'answer' | 'rejected' | 'cancelled' = 'answer') => ({ model, backend: 'gpu0', seconds, role })

/** A routed request's final event, as the core sends it. */
function response(id: string, extra: Partial<PipelineEvent> = {}, timeMs = Date.now()): PipelineEvent {
  return {
    stage: 'response', requestId: id, timeMs, model: 'small', backend: 'gpu0', status: 200, durationMs: 100, inputTokens: 10, outputTokens: 40,
    request, route: 'auto', classification, selection: { model: 'small', backend: 'gpu0', reasons: [] }, ...extra,
  }
}

const rowOf = (rows: { key: string }[], key: string): any => rows.find((r) => r.key === key)

describe('dashboard teams', () => {
  test('each team gets a row with its requests, errors, latency, tokens, GPU seconds, net savings and escalations; keys in no team are "none"', async () => {
    const { instance, state } = await setup()
    instance.observe!(response('a', { client: 'alice', team: 'ml', durationMs: 100, gpu: [use('small', 0.5)], gpuSecondsSaved: 2 }))
    instance.observe!(response('b', {
      client: 'alice', team: 'ml', durationMs: 300, model: 'medium', escalation, gpuSecondsSaved: -0.75,
      gpu: [use('small', 0.25, 'rejected'), use('medium', 1.5)], inputTokens: 20, outputTokens: 60,
    }))
    instance.observe!(response('c', { client: 'carol', team: 'ml', status: 502, error: 'upstream failed', inputTokens: 5, outputTokens: 0 }))
    // A cache hit is the team's request too, with no tokens and no GPU time.
    instance.observe!({ stage: 'cache', requestId: 'd', timeMs: Date.now(), cache: 'hit', request, durationMs: 2, client: 'alice', team: 'ml', inputTokens: 0, outputTokens: 0 })
    instance.observe!(response('e', { client: 'dana', team: 'data', gpu: [use('small', 0.125)] }))
    instance.observe!(response('f', { client: 'bob' }))
    instance.observe!(response('g'))

    const { teams } = await state()
    expect(teams.map((r: { key: string }) => r.key)).toEqual(['ml', 'none', 'data'])
    const ml = rowOf(teams, 'ml')
    expect(ml).toMatchObject({
      requests: 4, totalRequests: 4, share: 0.571, errors: 1, inputTokens: 35, outputTokens: 100,
      gpuSeconds: 2.25, gpuSecondsSaved: 1.25, escalations: 1, latencyP50Ms: 100, latencyP95Ms: 300,
    })
    // Failed requests count as errors, not in the latency percentiles (answered: 2 ms, 100 ms, 300 ms).
    expect(ml.ratePerMin).toBeGreaterThan(0)
    const { requests, totalRequests, key, share, ratePerMin, latencyP50Ms, latencyP95Ms, sinceStart, ...window } = ml
    expect(sinceStart).toEqual(window)
    expect(rowOf(teams, 'none')).toMatchObject({ requests: 2, share: 0.286, inputTokens: 20, outputTokens: 80, gpuSeconds: 0, gpuSecondsSaved: 0, escalations: 0, errors: 0 })
    expect(rowOf(teams, 'data')).toMatchObject({ requests: 1, share: 0.143, gpuSeconds: 0.125 })
  })

  test('a decision names its client key and its team, null when there is none', async () => {
    const { instance, state } = await setup()
    instance.observe!(response('a', { client: 'alice', team: 'ml' }))
    instance.observe!(response('b', { client: 'bob' }))
    instance.observe!(response('c'))
    const [c, b, a] = (await state()).decisions
    expect(a).toMatchObject({ client: 'alice', team: 'ml' })
    expect(b).toMatchObject({ client: 'bob', team: null })
    expect(c).toMatchObject({ client: null, team: null })
  })

  test('a request older than the window counts since start but not in the window', async () => {
    const { instance, state } = await setup({ windowMs: 60_000 })
    instance.observe!(response('old', { team: 'ml', gpu: [use('small', 3)], escalation }, Date.now() - 120_000))
    instance.observe!(response('new', { team: 'ml', gpu: [use('small', 1)] }))
    const ml = rowOf((await state()).teams, 'ml')
    expect(ml).toMatchObject({ requests: 1, totalRequests: 2, gpuSeconds: 1, escalations: 0, outputTokens: 40 })
    expect(ml.sinceStart).toMatchObject({ gpuSeconds: 4, escalations: 1, outputTokens: 80 })
  })

  test("a busy team's window figures stay exact past the latency sample bound", async () => {
    const { instance, state } = await setup({ maxDecisions: 1 })
    for (let i = 0; i < 5_000; i++) instance.observe!(response(`r${i}`, { team: 'ml', gpu: [use('small', 0.5)] }))
    expect(rowOf((await state()).teams, 'ml')).toMatchObject({ requests: 5_000, outputTokens: 200_000, gpuSeconds: 2_500, latencyP95Ms: 100 })
  })

  test('SSE snapshot and stats frames carry the team rows', async () => {
    const { instance, get } = await setup({ statsIntervalMs: 100, maxStreamMs: 350 })
    instance.observe!(response('a', { client: 'alice', team: 'ml' }))
    const text = await (await get('/dashboard/events')).text()
    const frames = [...text.matchAll(/^event: (\w+)\ndata: (.*)$/gm)].map(([, event, data]) => ({ event, data: JSON.parse(data!) }))
    expect(frames[0]!.event).toBe('snapshot')
    const stats = frames.filter((f) => f.event === 'stats')
    expect(stats.length).toBeGreaterThanOrEqual(1)
    for (const f of [frames[0]!, ...stats]) expect(f.data.teams).toEqual([expect.objectContaining({ key: 'ml', requests: 1, outputTokens: 40 })])
  })

  test('through a gateway with two keys, alice (team ml) and bob (no team), each row adds up its own requests, tokens and GPU seconds; a reload keeps them', async () => {
    const adminKey = 'teams-admin-key'
    const auth = { keys: [{ name: 'alice', key: 'alice-key-1234', team: 'ml' }, { name: 'bob', key: 'bob-key-12345' }], teams: [{ name: 'ml' }] }
    await using env = await startTwoBackends({ auth, adminKey })
    const usage = { 'alice-key-1234': { requests: 0, input: 0, output: 0 }, 'bob-key-12345': { requests: 0, input: 0, output: 0 } }
    const ask = async (key: keyof typeof usage, content: string) => {
      const res = await fetch(`${env.gw.url}/v1/chat/completions`, {
        method: 'POST', headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content }] }),
      })
      expect(res.status).toBe(200)
      const body = (await res.json()) as { usage: { prompt_tokens: number; completion_tokens: number } }
      usage[key].requests++
      usage[key].input += body.usage.prompt_tokens
      usage[key].output += body.usage.completion_tokens
    }
    await ask('alice-key-1234', 'add a docstring to this function')
    await ask('alice-key-1234', 'write a docstring for foo')
    await ask('bob-key-12345', 'add a docstring to this function please')
    await ask('alice-key-1234', 'refactor this module and redesign the architecture of the whole service')

    const read = async () => (await (await fetch(`${env.gw.url}/dashboard/state`, { headers: { authorization: `Bearer ${adminKey}` } })).json()) as any
    const state = await read()
    expect(state.teams.map((r: { key: string }) => r.key)).toEqual(['ml', 'none'])
    const gpuOf = (team: string | null) =>
      state.decisions.filter((d: { team: string | null }) => d.team === team).reduce((sum: number, d: { gpuSeconds: number | null }) => sum + (d.gpuSeconds ?? 0), 0)
    const ml = rowOf(state.teams, 'ml')
    const none = rowOf(state.teams, 'none')
    const alice = usage['alice-key-1234']
    const bob = usage['bob-key-12345']
    expect(ml).toMatchObject({ requests: 3, totalRequests: 3, share: 0.75, errors: 0, inputTokens: alice.input, outputTokens: alice.output })
    expect(none).toMatchObject({ requests: 1, totalRequests: 1, share: 0.25, errors: 0, inputTokens: bob.input, outputTokens: bob.output })
    expect(alice.output).toBeGreaterThan(0)
    expect(ml.gpuSeconds).toBeGreaterThan(0)
    expect(ml.gpuSeconds).toBeCloseTo(gpuOf('ml'), 5)
    expect(none.gpuSeconds).toBeCloseTo(gpuOf(null), 5)
    expect(state.decisions.map((d: { client: string; team: string | null }) => [d.client, d.team])).toEqual([['alice', 'ml'], ['bob', null], ['alice', 'ml'], ['alice', 'ml']])

    await env.gw.gateway.reload({ config: parseConfig(twoBackendsConfig(env.smallUrl, env.bigUrl, { auth, adminKey })), path: undefined, baseDir: process.cwd() })
    const after = await read()
    expect(rowOf(after.teams, 'ml')).toMatchObject({ totalRequests: 3, outputTokens: alice.output, gpuSeconds: ml.gpuSeconds })
    expect(rowOf(after.teams, 'none')).toMatchObject({ totalRequests: 1, outputTokens: bob.output })
  }, 15_000)
})
