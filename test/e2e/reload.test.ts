/** A config reload keeps what plugins `keep`: cache entries, Prometheus counters, dashboard history. */
import { describe, expect, test } from 'bun:test'
import { parseConfig } from '../../src/config/load.ts'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway } from '../support/gateway.ts'

const requestsTotal = (metrics: string) =>
  metrics
    .split('\n')
    .filter((line) => line.startsWith('switchyard_requests_total{'))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0)

describe('config reload', () => {
  test('cache entries, Prometheus counters and dashboard history carry on; state a removed plugin kept is dropped', async () => {
    await using sim = startSimulator({ instant: true })
    const backends = [{ name: 'gpu0', kind: 'ollama', url: sim.url }]
    const plugins = [...fastProbes, { use: 'memory-cache' }, { use: 'prometheus' }, { use: 'dashboard' }]
    await using gw = await startGateway({ backends, plugins })
    const ask = async (content: string) => {
      const res = await fetch(`${gw.url}/api/chat`, {
        method: 'POST', body: JSON.stringify({ model: 'qwen2.5-coder:7b', stream: false, options: { temperature: 0 }, messages: [{ role: 'user', content }] }),
      })
      await res.text()
      return res.headers.get('x-switchyard-cache')
    }
    const reload = (raw: Record<string, unknown>) => gw.gateway.reload({ config: parseConfig(raw), path: undefined, baseDir: process.cwd() })
    const metrics = async () => requestsTotal(await (await fetch(`${gw.url}/metrics`)).text())
    const dashboardRequests = async () => (await (await fetch(`${gw.url}/dashboard/state`)).json()).totals.requests as number

    expect(await ask('one')).toBe('miss')
    expect(await ask('two')).toBe('miss')
    expect(await metrics()).toBe(2)

    // A reload that changes other settings (and the cache's own limits) keeps all three.
    await reload({ backends, plugins: [...fastProbes, { use: 'memory-cache', options: { maxEntries: 10 } }, { use: 'prometheus' }, { use: 'dashboard' }], server: { maxAttempts: 1 } })
    expect(await ask('one')).toBe('hit')
    expect(sim.stats().requests).toBe(2)
    expect(await metrics()).toBe(3)
    expect(await dashboardRequests()).toBe(3)
    const decisions = (await (await fetch(`${gw.url}/dashboard/state`)).json()).decisions as unknown[]
    expect(decisions).toHaveLength(3)

    // New limits apply at once: a one-entry cache keeps only the most recently used answer ('one').
    await reload({ backends, plugins: [...fastProbes, { use: 'memory-cache', options: { maxEntries: 1 } }, { use: 'prometheus' }] })
    expect(await ask('two')).toBe('miss')
    expect(await metrics()).toBe(4)

    // A generation without the cache (switched off: it is a default) drops its entries; bringing it back starts empty.
    await reload({ backends, plugins: [...fastProbes, { use: 'memory-cache', enabled: false }, { use: 'prometheus' }] })
    expect(await ask('two')).toBe(null)
    await reload({ backends, plugins: [...fastProbes, { use: 'memory-cache' }, { use: 'prometheus', options: { prefix: 'gw' } }] })
    expect(await ask('two')).toBe('miss')
    // A new metric prefix is a new set of series, counted from zero.
    const text = await (await fetch(`${gw.url}/metrics`)).text()
    expect(requestsTotal(text.replaceAll('gw_requests_total{', 'switchyard_requests_total{'))).toBe(1)
  })
})
