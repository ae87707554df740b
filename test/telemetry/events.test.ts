/** PipelineEvents: every request that got a `request` event ends with exactly one last event carrying its decision. */
import { describe, expect, test } from 'bun:test'
import { resolve } from 'node:path'
import { startSimulator } from '../../src/sim/server.ts'
import type { PipelineEvent } from '../../src/plugin/types.ts'
import { fastProbes, startGateway } from '../support/gateway.ts'
import { until } from '../support/until.ts'

const dir = resolve(import.meta.dir, '../../test-output')
const recorder = `
  import * as v from 'valibot'
  import { definePlugin } from 'switchyard/plugin'
  export default definePlugin({ name: 'event-recorder', kind: 'telemetry', options: v.strictObject({}),
    setup: () => ({ observe(e) { (globalThis.__switchyardEvents ??= []).push(e) } }) })
`
const events = () => ((globalThis as { __switchyardEvents?: PipelineEvent[] }).__switchyardEvents ??= [])
const isLast = (e: PipelineEvent) => e.stage === 'response' || (e.stage === 'cache' && (e.cache === 'hit' || e.cache === 'semantic-hit'))

describe('pipeline events', () => {
  test('each request ends with one last event, whatever the outcome, and the in-flight gauge returns to 0', async () => {
    events().length = 0
    await Bun.write(`${dir}/event-recorder.ts`, recorder)
    await using sim = startSimulator({ speed: 50, models: ['qwen2.5-coder:1.5b', 'qwen2.5-coder:7b'] })
    await using gw = await startGateway(
      {
        backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }],
        auth: { keys: [{ name: 'limited', key: 'limited-key-0001', models: ['qwen2.5-coder:1.5b'], requestsPerMinute: 100 }] },
        plugins: [{ use: './event-recorder.ts' }, { use: 'memory-cache' }, { use: 'prometheus' }, ...fastProbes],
      },
      dir,
    )
    const headers = { authorization: 'Bearer limited-key-0001' }
    const post = async (path: string, body: Record<string, unknown>, signal?: AbortSignal) => {
      const res = await fetch(`${gw.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body), signal })
      await res.text()
      return res.status
    }
    const chat = (content: string, extra: Record<string, unknown> = {}) => ({ model: 'qwen2.5-coder:1.5b', stream: false, messages: [{ role: 'user', content }], ...extra })
    const statuses = [
      await post('/api/chat', chat('plain')),
      await post('/api/chat', chat('streamed', { stream: true })),
      await post('/api/chat', chat('cached', { options: { temperature: 0 } })),
      await post('/api/chat', chat('cached', { options: { temperature: 0 } })),
      await post('/api/chat', { ...chat('unknown'), model: 'no-such-model' }),
      await post('/api/chat', { ...chat('not allowed'), model: 'qwen2.5-coder:7b' }),
      await post('/v1/chat/completions', { model: 'qwen2.5-coder:1.5b' }),
    ]
    await fetch(`${sim.url}/sim/faults`, { method: 'POST', body: JSON.stringify({ fault: 'status-500', count: 1 }) })
    statuses.push(await post('/api/chat', chat('upstream fails')))
    // Identical concurrent requests: one leads, the others follow its answer.
    statuses.push(...(await Promise.all([1, 2, 3].map(() => post('/api/chat', chat('shared', { options: { temperature: 0 } }))))))
    // A client that leaves mid-stream.
    const leaving = new AbortController()
    const res = await fetch(`${gw.url}/api/chat`, { method: 'POST', headers, body: JSON.stringify(chat('leaving', { stream: true, options: { num_predict: 400 } })), signal: leaving.signal })
    await res.body!.getReader().read()
    leaving.abort()
    expect(statuses).toEqual([200, 200, 200, 200, 404, 403, 400, 502, 200, 200, 200])

    await until(() => sim.stats().active === 0, 3_000, 'the abandoned stream to stop upstream')
    await until(() => events().filter(isLast).length === 11, 3_000, 'every last event')
    const started = new Set(events().filter((e) => e.stage === 'request').map((e) => e.requestId))
    const ended = events().filter(isLast).map((e) => e.requestId)
    // The body without messages fails validation before a request event; every other request starts and ends once.
    expect(started.size).toBe(11)
    expect(ended.toSorted()).toEqual([...started].toSorted())
    for (const e of events().filter(isLast)) expect(e.request?.messages.length).toBeGreaterThan(0)
    expect(events().find((e) => e.stage === 'response' && e.status === 200)?.selection?.backend).toBe('gpu0')
    const metrics = await (await fetch(`${gw.url}/metrics`)).text()
    expect(metrics).toContain('\nswitchyard_inflight_requests 0\n')
  })
})
