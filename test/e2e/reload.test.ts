/** A config reload keeps what plugins `keep`: cache entries, Prometheus counters, dashboard history. */
import { describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseConfig } from '../../src/config/load.ts'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway } from '../support/gateway.ts'
import { startGatewayProcess } from '../support/process.ts'
import { until } from '../support/until.ts'

const requestsTotal = (metrics: string) =>
  metrics
    .split('\n')
    .filter((line) => line.startsWith('switchyard_requests_total{'))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0)

const AUTO = { auto: { SIMPLE: ['qwen2.5-coder:1.5b'], MODERATE: ['qwen2.5-coder:7b'], COMPLEX: ['deepseek-coder:33b'] } }

/** A folder for plugin files inside the project, so they resolve the project's packages (valibot). */
function pluginDir(): string {
  const out = resolve(import.meta.dir, '../../test-output')
  mkdirSync(out, { recursive: true })
  return mkdtempSync(join(out, 'plugin-'))
}

/** A classifier plugin file that always answers `label`; counts its module evaluations in a global. */
function writeClassifier(file: string, label: string): void {
  const sdk = resolve(import.meta.dir, '../../src/plugin/index.ts')
  writeFileSync(file, `import { definePlugin } from '${sdk}'
import * as v from 'valibot'
;(globalThis as { fixedClassifierLoads?: number }).fixedClassifierLoads = ((globalThis as { fixedClassifierLoads?: number }).fixedClassifierLoads ?? 0) + 1
export default definePlugin({
  name: 'fixed-classifier', kind: 'classifier', options: v.object({}),
  setup: () => ({ classify: () => ({ label: '${label}', confidence: 0.9, scores: { SIMPLE: 0, MODERATE: 0, COMPLEX: 0, ${label}: 0.9 }, reasons: ['always ${label}'] }) }),
})
`)
}

async function explainClass(url: string): Promise<string> {
  const res = await fetch(`${url}/router/explain`, { method: 'POST', body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'x' }] }) })
  return (await res.json()).class
}

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

  test('a plugin file edited before a reload is loaded again; an unchanged one is reused', async () => {
    await using sim = startSimulator({ instant: true })
    const file = join(pluginDir(), 'fixed-classifier.ts')
    writeClassifier(file, 'SIMPLE')
    const config = {
      backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }],
      routes: AUTO,
      plugins: [...fastProbes, { use: file }],
    }
    await using gw = await startGateway(config)
    expect(await explainClass(gw.url)).toBe('SIMPLE')
    const reload = () => gw.gateway.reload({ config: parseConfig(config), path: undefined, baseDir: process.cwd() })
    writeClassifier(file, 'COMPLEX')
    await reload()
    expect(await explainClass(gw.url)).toBe('COMPLEX')
    await reload()
    expect(await explainClass(gw.url)).toBe('COMPLEX')
    // Evaluated once per version of the file: twice, not once per reload.
    expect((globalThis as { fixedClassifierLoads?: number }).fixedClassifierLoads).toBe(2)
  })

  test('with server.watchConfig, saving the config or a plugin file it names reloads the process', async () => {
    await using sim = startSimulator({ instant: true })
    const dir = pluginDir()
    const plugin = join(dir, 'watched-classifier.ts')
    const configPath = join(dir, 'switchyard.config.json')
    writeClassifier(plugin, 'SIMPLE')
    const config = (extra: Record<string, unknown> = {}) =>
      JSON.stringify({ server: { watchConfig: true }, backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], routes: AUTO, plugins: [...fastProbes, { use: './watched-classifier.ts' }], ...extra })
    writeFileSync(configPath, config())
    await using gw = await startGatewayProcess(configPath)
    expect(await explainClass(gw.url)).toBe('SIMPLE')
    const reloads = () => gw.log().split('config reloaded').length - 1
    // An editor's atomic save: write a temporary file, rename it over the plugin.
    writeClassifier(`${plugin}.tmp`, 'COMPLEX')
    renameSync(`${plugin}.tmp`, plugin)
    await until(async () => (await explainClass(gw.url)) === 'COMPLEX', 3_000, 'the edited plugin to be loaded')
    expect(reloads()).toBe(1)
    // The config file itself: a route change takes effect.
    writeFileSync(configPath, config({ routes: { ...AUTO, fast: { SIMPLE: ['qwen2.5-coder:1.5b'], MODERATE: ['qwen2.5-coder:1.5b'], COMPLEX: ['qwen2.5-coder:1.5b'] } } }))
    await until(() => reloads() === 2, 3_000, 'a reload after the config file changed')
    const models = await (await fetch(`${gw.url}/v1/models`)).json()
    expect(models.data.map((m: { id: string }) => m.id)).toContain('fast')
  })
})
