import { describe, expect, test } from 'bun:test'
import { chmodSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway } from '../support/gateway.ts'
import { until } from '../support/until.ts'

/** The value of the one sample of `name` whose labels include all of `labels`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`)
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue
    const match = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/)
    if (!match || match[1] !== name) continue
    const set = match[2] ?? ''
    if (wanted.every((w) => set.includes(w))) return Number(match[3])
  }
  return undefined
}

async function promtool(text: string): Promise<{ code: number; output: string }> {
  const binary = Bun.which('promtool')
  if (!binary) throw new Error('promtool not found on PATH: install the Debian/Ubuntu package "prometheus" (apt-get install -y prometheus); .ci/run does this')
  const proc = Bun.spawn([binary, 'check', 'metrics'], { stdin: new TextEncoder().encode(text), stdout: 'pipe', stderr: 'pipe' })
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  return { code, output: out + err }
}

async function fakeNvidiaSmi(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'nvsmi-'))
  const fixture = resolve(import.meta.dir, '../fixtures/nvidia-smi/two-gpus-one-busy.csv')
  const script = join(dir, 'nvidia-smi')
  await Bun.write(script, `#!/bin/sh\ncat '${fixture}'\n`)
  chmodSync(script, 0o755)
  return script
}

describe('prometheus /metrics', () => {
  test('counts requests, routing, cache, fallbacks, tokens, backend and GPU state, and passes promtool check metrics', async () => {
    const script = await fakeNvidiaSmi()
    await using a = startSimulator({ instant: true, models: ['qwen2.5-coder:7b'] })
    await using b = startSimulator({ instant: true, models: ['qwen2.5-coder:1.5b'] })
    await using gw = await startGateway({
      backends: [{ name: 'a', kind: 'ollama', url: a.url, gpu: 0 }, { name: 'b', kind: 'ollama', url: b.url, gpu: 1 }],
      routes: { auto: { SIMPLE: ['qwen2.5-coder:1.5b'], MODERATE: ['qwen2.5-coder:1.5b'], COMPLEX: ['qwen2.5-coder:1.5b'] } },
      models: { 'qwen2.5-coder:7b': { fallbacks: ['qwen2.5-coder:1.5b'] } },
      plugins: [...fastProbes, { use: 'nvidia-smi-probe', options: { binary: script, intervalMs: 200 } }, { use: 'keyword-classifier' }, { use: 'memory-cache' }, { use: 'prometheus' }],
    })
    await until(() => gw.gateway.deps.health.gpus().length === 2, 2_000, 'GPUs from nvidia-smi')
    const post = async (path: string, body: Record<string, unknown>) => {
      const res = await fetch(`${gw.url}${path}`, { method: 'POST', body: JSON.stringify(body) })
      await res.text()
      return res
    }
    const messages = [{ role: 'user', content: 'implement a function that adds numbers' }]
    const auto = await post('/v1/chat/completions', { model: 'auto', stream: true, messages })
    expect(auto.status).toBe(200)
    await fetch(`${a.url}/sim/faults`, { method: 'POST', body: JSON.stringify({ fault: 'status-500', count: 1 }) })
    expect((await post('/api/chat', { model: 'qwen2.5-coder:7b', stream: false, messages })).headers.get('x-switchyard-backend')).toBe('b')
    const cached = { model: 'qwen2.5-coder:7b', stream: false, options: { temperature: 0 }, messages: [{ role: 'user', content: 'cache me' }] }
    await post('/api/chat', cached)
    expect((await post('/api/chat', cached)).headers.get('x-switchyard-cache')).toBe('hit')
    expect((await post('/api/chat', { model: 'no-such-model', messages })).status).toBe(404)

    const res = await fetch(`${gw.url}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toStartWith('text/plain; version=0.0.4')
    const text = await res.text()
    const check = await promtool(text)
    expect(check.output).toBe('')
    expect(check.code).toBe(0)

    const requests = (labels: Record<string, string>) => sample(text, 'switchyard_requests_total', labels)
    expect(requests({ route: 'auto', class: auto.headers.get('x-switchyard-class')!, model: 'qwen2.5-coder:1.5b', backend: 'b', status: '200' })).toBe(1)
    expect(requests({ route: '', model: 'qwen2.5-coder:1.5b', backend: 'b', status: '200' })).toBe(1)
    expect(requests({ model: 'qwen2.5-coder:7b', backend: 'a', status: '200' })).toBe(1)
    expect(requests({ model: '', backend: '', status: '404' })).toBe(1)
    // The unknown model name a client sent never becomes a label value.
    expect(text).not.toContain('no-such-model')
    expect(sample(text, 'switchyard_fallbacks_total', { model: 'qwen2.5-coder:1.5b', backend: 'b' })).toBe(1)
    expect(sample(text, 'switchyard_cache_lookups_total', { result: 'hit' })).toBe(1)
    expect(sample(text, 'switchyard_cache_lookups_total', { result: 'miss' })).toBe(1)
    expect(sample(text, 'switchyard_classifications_total', { route: 'auto', classifier: 'keyword-classifier' })).toBe(1)
    expect(sample(text, 'switchyard_classification_confidence_ratio_count', { route: 'auto' })).toBe(1)
    expect(sample(text, 'switchyard_tokens_total', { model: 'qwen2.5-coder:1.5b', backend: 'b', token_type: 'output' })).toBeGreaterThan(0)
    expect(sample(text, 'switchyard_request_duration_seconds_count', { route: 'auto', backend: 'b' })).toBe(1)
    expect(sample(text, 'switchyard_request_duration_seconds_bucket', { route: 'auto', backend: 'b', le: '+Inf' })).toBe(1)
    expect(sample(text, 'switchyard_time_to_first_token_seconds_count', { model: 'qwen2.5-coder:7b', backend: 'a' })).toBe(1)
    expect(sample(text, 'switchyard_inflight_requests')).toBe(0)
    expect(sample(text, 'switchyard_backend_up', { backend: 'a' })).toBe(1)
    expect(sample(text, 'switchyard_backend_circuit_state', { backend: 'b', state: 'closed' })).toBe(1)
    expect(sample(text, 'switchyard_gpu_memory_used_bytes', { gpu: '0' })).toBe(61234 * 1_048_576)
    expect(sample(text, 'switchyard_gpu_utilization_ratio', { gpu: '0' })).toBe(0.97)
    expect(sample(text, 'switchyard_gpu_temperature_celsius', { gpu: '0' })).toBeNumber()

    await post('/api/chat', { model: 'qwen2.5-coder:7b', stream: false, messages })
    const after = await (await fetch(`${gw.url}/metrics`)).text()
    expect(sample(after, 'switchyard_requests_total', { model: 'qwen2.5-coder:7b', backend: 'a', status: '200' })).toBe(2)
    expect(sample(after, 'switchyard_tokens_total', { model: 'qwen2.5-coder:7b', backend: 'a', token_type: 'input' })).toBeGreaterThan(
      sample(text, 'switchyard_tokens_total', { model: 'qwen2.5-coder:7b', backend: 'a', token_type: 'input' })!,
    )
  })

  test('/metrics is on by default, and off when the prometheus plugin is disabled', async () => {
    await using sim = startSimulator({ instant: true })
    await using on = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: fastProbes })
    expect((await fetch(`${on.url}/metrics`)).status).toBe(200)
    await using off = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: [...fastProbes, { use: 'prometheus', enabled: false }] })
    expect((await fetch(`${off.url}/metrics`)).status).toBe(404)
  })
})
