/** The savings panel's figures (net GPU seconds saved, money, waste, audits, escalation rates) and the feed's escalation marks. */
import { describe, expect, test } from 'bun:test'
import * as v from 'valibot'
import { keepNothing } from 'switchyard/plugin'
import dashboard from '../../plugins/dashboard/index.ts'
import { parseConfig } from '../../src/config/load.ts'
import { createLogger } from '../../src/log.ts'
import type { PipelineEvent, PluginInstance } from '../../src/plugin/types.ts'
import { startTwoBackends, twoBackendsConfig } from './setup.ts'

async function setup(costPerGpuHour?: number) {
  const instance = (await dashboard.setup({
    name: 'dashboard', options: v.parse(dashboard.options, {}), signal: new AbortController().signal, log: createLogger('dashboard', () => {}),
    gateway: { backends: [], ...(costPerGpuHour === undefined ? {} : { costPerGpuHour }) }, baseDir: process.cwd(), keep: keepNothing,
  })) as PluginInstance<'telemetry'>
  const get = async (path: string) => {
    const route = instance.routes!.find((r) => (r.path.endsWith('*') ? path.startsWith(r.path.slice(0, -1)) : r.path === path))!
    return (await (await route.handle(new Request(`http://x${path}`))).json()) as any
  }
  return { instance, state: () => get('/dashboard/state'), savings: () => get('/dashboard/savings') }
}

const request = { protocol: 'openai', operation: 'chat', model: 'auto', messages: [], stream: false, body: {} } as const
const classification = { label: 'SIMPLE', confidence: 0.8, scores: { SIMPLE: 0.8, MODERATE: 0.1, COMPLEX: 0.1 }, reasons: ['short'] } as const

/** A routed request's final event, as the core sends it. */
function response(id: string, extra: Partial<PipelineEvent> = {}, timeMs = Date.now()): PipelineEvent {
  return {
    stage: 'response', requestId: id, timeMs, model: 'small', backend: 'gpu0', status: 200, durationMs: 100, outputTokens: 40,
    request, route: 'auto', classification, selection: { model: 'small', backend: 'gpu0', reasons: [] }, ...extra,
  }
}

const pass = { auditor: 'verdict-auditor', model: 'small', score: 0.92, reasons: [], outcome: 'pass', threshold: 0.5 } as const
const fail = { auditor: 'verdict-auditor', model: 'small', score: 0.1, reasons: ['<b>too short</b>'], outcome: 'fail', threshold: 0.5 } as const
const escalation = { from: 'small', to: 'medium', reason: 'audit', mode: 'buffer', label: 'MODERATE' } as const

describe('dashboard savings', () => {
  test('net GPU seconds saved add up negative ones too; money is those seconds at costPerGpuHour', async () => {
    const { instance, state, savings } = await setup(3.6)
    for (const [i, saved] of [2, -1, 0.5].entries()) instance.observe!(response(`r${i}`, { gpuSecondsSaved: saved }))
    const s = await savings()
    expect(s).toMatchObject({ windowMs: 3_600_000, costPerGpuHour: 3.6 })
    for (const period of [s.sinceStart, s.lastHour]) {
      expect(period.gpuSecondsSaved).toBe(1.5)
      expect(period.costSaved).toBeCloseTo(0.0015, 9)
      expect(period.requests).toBe(3)
      expect(period.routed).toBe(3)
    }
    // The state snapshot (and every SSE stats frame) carries the same figures.
    expect((await state()).savings.sinceStart).toEqual(s.sinceStart)
  })

  test('without costPerGpuHour there is no money, only GPU seconds', async () => {
    const { instance, savings } = await setup()
    instance.observe!(response('a', { gpuSecondsSaved: 4, gpu: [{ model: 'small', backend: 'gpu0', seconds: 1, role: 'answer' }] }))
    const s = await savings()
    expect(s.costPerGpuHour).toBeNull()
    expect(s.sinceStart).toMatchObject({ gpuSecondsSaved: 4, costSaved: null, gpuSecondsSpent: 1, costSpent: null })
  })

  test('escalation rate is escalated answers per audited and per routed request; waste is rejected drafts, cancelled generations and checks', async () => {
    const { instance, savings } = await setup()
    const use = (model: string, seconds: number, role: 'answer' | 'rejected' | 'cancelled') => ({ model, backend: 'gpu0', seconds, role })
    // Passed its audit in parallel mode: the larger generation started at once was cancelled.
    instance.observe!(response('passed', { audits: [pass], gpu: [use('small', 1, 'answer'), use('medium', 0.3, 'cancelled')] }))
    // Failed its audit: the draft was thrown away and the larger model answered; the classifier spent GPU time too.
    instance.observe!(response('escalated', {
      model: 'medium', audits: [fail], escalation, overheadGpuSeconds: 0.25, gpuSecondsSaved: -0.75, gpu: [use('small', 0.5, 'rejected'), use('medium', 2, 'answer')],
    }))
    instance.observe!(response('unaudited', { gpu: [use('small', 1, 'answer')] }))
    instance.observe!({ stage: 'response', requestId: 'named', timeMs: Date.now(), model: 'small', status: 200, request: { ...request, model: 'small' } })
    const { sinceStart, lastHour } = await savings()
    expect(lastHour).toEqual(sinceStart)
    expect(sinceStart).toMatchObject({ requests: 4, routed: 3, audited: 2, escalated: 1, gpuSecondsSaved: -0.75, gpuSecondsSpent: 5.05 })
    expect(sinceStart.escalationRate).toEqual({ audited: 0.5, routed: 0.333333 })
    expect(sinceStart.gpuSecondsWasted).toEqual({ rejected: 0.5, cancelled: 0.3, checks: 0.25, total: 1.05 })
    expect(sinceStart.audits).toEqual({ pass: 1, fail: 1, skipped: 0 })
  })

  test('a request older than an hour counts since start but not in the last hour', async () => {
    const { instance, savings } = await setup()
    instance.observe!(response('old', { gpuSecondsSaved: 3, audits: [fail], escalation }, Date.now() - 2 * 3_600_000))
    instance.observe!(response('new', { gpuSecondsSaved: 1, audits: [pass] }))
    const s = await savings()
    expect(s.sinceStart).toMatchObject({ gpuSecondsSaved: 4, audited: 2, escalated: 1 })
    expect(s.lastHour).toMatchObject({ gpuSecondsSaved: 1, audited: 1, escalated: 0, escalationRate: { audited: 0, routed: 0 } })
  })

  test("a decision carries its escalation, its last audit, its GPU seconds and what it saved", async () => {
    const { instance, state } = await setup()
    instance.observe!(response('e', {
      model: 'medium', audits: [pass, fail], escalation, gpuSecondsSaved: -0.5,
      gpu: [{ model: 'small', backend: 'gpu0', seconds: 0.25, role: 'rejected' }, { model: 'medium', backend: 'gpu0', seconds: 1.5, role: 'answer' }],
    }))
    instance.observe!(response('plain'))
    const [plain, escalated] = (await state()).decisions
    expect(escalated).toMatchObject({ id: 'e', model: 'medium', escalation, gpuSeconds: 1.75, gpuSecondsSaved: -0.5 })
    expect(escalated.audit).toEqual({ auditor: 'verdict-auditor', score: 0.1, outcome: 'fail', threshold: 0.5, reasons: ['<b>too short</b>'] })
    expect(plain).toMatchObject({ audit: null, escalation: null, gpuSeconds: null, gpuSecondsSaved: null })
  })

  test('through a gateway, a failed draft shows as escalated in the feed and the savings, and a reload keeps them', async () => {
    await using env = await startTwoBackends({ escalate: true, costPerGpuHour: 3.6 })
    const escalated = await env.ask('add a docstring to this function [fail-draft]')
    expect(escalated.headers.get('x-switchyard-escalated')).toBe('qwen2.5-coder:1.5b -> qwen2.5-coder:7b')
    await env.ask('add a docstring to this function')
    const state = await (await fetch(`${env.gw.url}/dashboard/state`)).json()
    const [passed, failed] = state.decisions
    expect(failed).toMatchObject({ model: 'qwen2.5-coder:7b', escalation: { from: 'qwen2.5-coder:1.5b', to: 'qwen2.5-coder:7b', reason: 'audit', mode: 'buffer' } })
    expect(failed.audit).toMatchObject({ auditor: 'verdict-auditor', score: 0.1, outcome: 'fail', reasons: ['the test says this draft fails'] })
    expect(failed.gpuSeconds).toBeGreaterThan(0)
    expect(passed).toMatchObject({ model: 'qwen2.5-coder:1.5b', escalation: null, audit: { score: 0.9, outcome: 'pass' } })
    const figures = state.savings.sinceStart
    expect(figures).toMatchObject({ routed: 2, audited: 2, escalated: 1, escalationRate: { audited: 0.5, routed: 0.5 }, audits: { pass: 1, fail: 1, skipped: 0 } })
    expect(figures.gpuSecondsWasted.rejected).toBeGreaterThan(0)
    expect(figures.gpuSecondsSpent).toBeGreaterThanOrEqual(failed.gpuSeconds + passed.gpuSeconds - 1e-6)
    expect(figures.costSpent).toBeCloseTo((figures.gpuSecondsSpent * 3.6) / 3600, 6)

    // A reload (here: a new price) keeps the figures and prices them anew.
    await env.gw.gateway.reload({ config: parseConfig(twoBackendsConfig(env.smallUrl, env.bigUrl, { escalate: true, costPerGpuHour: 7.2 })), path: undefined, baseDir: process.cwd() })
    const after = await (await fetch(`${env.gw.url}/dashboard/savings`)).json()
    expect(after.costPerGpuHour).toBe(7.2)
    expect(after.sinceStart).toMatchObject({ audited: 2, escalated: 1, gpuSecondsSpent: figures.gpuSecondsSpent })
    expect(after.sinceStart.costSpent).toBeCloseTo((figures.gpuSecondsSpent * 7.2) / 3600, 6)
  }, 15_000)

  test('behind an admin key, /dashboard/savings answers 401 without it and the figures with it', async () => {
    await using env = await startTwoBackends({ adminKey: 'savings-key' })
    const denied = await fetch(`${env.gw.url}/dashboard/savings`)
    expect(denied.status).toBe(401)
    await denied.text()
    const allowed = await fetch(`${env.gw.url}/dashboard/savings`, { headers: { authorization: 'Bearer savings-key' } })
    expect(allowed.status).toBe(200)
    expect((await allowed.json()).sinceStart).toMatchObject({ requests: 0, escalationRate: { audited: null, routed: null } })
  })
})
