import { describe, expect, test } from 'bun:test'
import * as v from 'valibot'
import dashboard from '../../plugins/dashboard/index.ts'
import { percentile } from '../../plugins/dashboard/aggregates.ts'
import type { PipelineEvent, PluginInstance } from '../../src/plugin/types.ts'
import { createLogger } from '../../src/log.ts'
import { keepNothing } from 'switchyard/plugin'

async function setup(options: Record<string, unknown> = {}) {
  const controller = new AbortController()
  const instance = (await dashboard.setup({
    name: 'dashboard', options: v.parse(dashboard.options, options), signal: controller.signal, log: createLogger('dashboard', () => {}),
    gateway: { backends: [] }, baseDir: process.cwd(), keep: keepNothing,
  })) as PluginInstance<'telemetry'>
  const get = async (path: string) => {
    const route = instance.routes!.find((r) => (r.path.endsWith('*') ? path.startsWith(r.path.slice(0, -1)) : r.path === path))!
    return await route.handle(new Request(`http://x${path}`))
  }
  return { instance, state: async () => (await get('/dashboard/state')).json() as Promise<any>, get }
}

const request = { protocol: 'ollama', operation: 'chat', model: 'auto', messages: [], stream: false, body: {} } as const
const classification = { label: 'SIMPLE', confidence: 0.8, scores: { SIMPLE: 0.8, MODERATE: 0.1, COMPLEX: 0.1 }, reasons: ['short'] } as const

function requestEvents(id: string, timeMs: number, extra: Partial<PipelineEvent> = {}): PipelineEvent[] {
  return [
    { stage: 'request', requestId: id, timeMs, request },
    { stage: 'classify', requestId: id, timeMs, route: 'auto', classification },
    { stage: 'select', requestId: id, timeMs, model: 'small', backend: 'gpu0', selection: { model: 'small', backend: 'gpu0', reasons: ['small@gpu0: up'] } },
    // The last event carries the whole decision, as the core sends it.
    {
      stage: 'response', requestId: id, timeMs: timeMs + 100, model: 'small', backend: 'gpu0', status: 200, durationMs: 100, ttftMs: 20, outputTokens: 40,
      request, route: 'auto', classification, selection: { model: 'small', backend: 'gpu0', reasons: ['small@gpu0: up'] }, ...extra,
    },
  ]
}

describe('dashboard plugin', () => {
  test('keeps only the newest maxDecisions decisions, newest first', async () => {
    const { instance, state } = await setup({ maxDecisions: 3 })
    for (let i = 0; i < 5; i++) for (const e of requestEvents(`r${i}`, Date.now())) instance.observe!(e)
    const s = await state()
    expect(s.decisions.map((d: { id: string }) => d.id)).toEqual(['r4', 'r3', 'r2'])
    expect(s.totals.requests).toBe(5)
    expect(s.decisions[0]).toMatchObject({ route: 'auto', class: 'SIMPLE', confidence: 0.8, model: 'small', backend: 'gpu0', ttftMs: 20, durationMs: 100 })
    expect(s.decisions[0].reasons).toEqual(['short', 'small@gpu0: up'])
    expect(s.models[0]).toMatchObject({ key: 'small', requests: 5, share: 1, latencyP50Ms: 100, ttftP95Ms: 20, tokensPerSec: 500 })
  })

  test('a cache hit is a finished decision (no response event follows) and counts toward the hit rate', async () => {
    const { instance, state } = await setup()
    for (const e of requestEvents('a', Date.now())) instance.observe!(e)
    instance.observe!({ stage: 'request', requestId: 'b', timeMs: Date.now(), request })
    instance.observe!({ stage: 'cache', requestId: 'b', timeMs: Date.now(), cache: 'hit', request, durationMs: 1 })
    const s = await state()
    expect(s.totals).toEqual({ requests: 2, errors: 0, cacheHits: 1 })
    expect(s.decisions[0]).toMatchObject({ id: 'b', cache: 'hit', status: 200 })
    expect(s.classes.find((r: { key: string }) => r.key === 'named').cacheHitRate).toBe(1)
  })

  test('fallbacks and errors are named in the decision reasons', async () => {
    const { instance, state } = await setup()
    for (const e of requestEvents('a', Date.now(), { fallbackCount: 1, status: 502, error: 'stream dropped' })) instance.observe!(e)
    const [d] = (await state()).decisions
    expect(d.reasons).toContain('1 fallback before small')
    expect(d.reasons).toContain('stream dropped')
    expect((await state()).totals.errors).toBe(1)
  })

  test('an SSE stream ends after maxStreamMs so the browser reconnects with a fresh snapshot', async () => {
    const { get } = await setup({ maxStreamMs: 100 })
    const res = await get('/dashboard/events')
    const text = await res.text()
    expect(text).toStartWith('retry: 1000\n\nevent: snapshot\n')
  })

  test('every open SSE stream gets the periodic stats frames', async () => {
    const { get } = await setup({ statsIntervalMs: 100, maxStreamMs: 450 })
    const [a, b] = await Promise.all([get('/dashboard/events'), get('/dashboard/events')])
    for (const text of await Promise.all([a.text(), b.text()])) {
      expect(text).toStartWith('retry: 1000\n\nevent: snapshot\n')
      expect(text.split('event: stats\n').length - 1).toBeGreaterThanOrEqual(2)
    }
  })

  test('percentiles use the nearest rank', () => {
    expect(percentile([], 50)).toBeNull()
    expect(percentile([1, 2, 3, 4], 50)).toBe(2)
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95)).toBe(10)
  })
})
