import { describe, expect, test } from 'bun:test'
import { chmodSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway } from '../support/gateway.ts'
import { until } from '../support/until.ts'

const routes = { auto: { SIMPLE: ['qwen2.5-coder:1.5b'], MODERATE: ['qwen2.5-coder:7b'], COMPLEX: ['deepseek-coder:33b', 'qwen2.5-coder:7b'] } }
const chat = (url: string, model: string, content = 'implement a function that adds numbers') =>
  fetch(`${url}/api/chat`, { method: 'POST', body: JSON.stringify({ model, stream: false, messages: [{ role: 'user', content }] }) })
const queueFault = (simUrl: string, fault: string, count: number) =>
  fetch(`${simUrl}/sim/faults`, { method: 'POST', body: JSON.stringify({ fault, count }) })

describe('GPU-aware selection and health', () => {
  test('a killed backend shows down in /health within a probe interval and auto goes to the other', async () => {
    const a = startSimulator({ instant: true })
    await using b = startSimulator({ instant: true })
    await using gw = await startGateway({
      backends: [{ name: 'a', kind: 'ollama', url: a.url }, { name: 'b', kind: 'ollama', url: b.url }],
      routes, plugins: [{ use: 'keyword-classifier' }, ...fastProbes],
    })
    const before = await (await fetch(`${gw.url}/health`)).json()
    expect(before.backends.map((x: { up: boolean }) => x.up)).toEqual([true, true])
    await a.close()
    await until(async () => (await (await fetch(`${gw.url}/health`)).json()).backends[0].up === false, 1_500, '/health to show a down')
    const health = await (await fetch(`${gw.url}/health`)).json()
    expect(health.status).toBe('ok')
    expect(health.routes.auto.MODERATE).toBe('qwen2.5-coder:7b@b')
    for (let i = 0; i < 3; i++) {
      const res = await chat(gw.url, 'auto')
      expect(res.headers.get('x-switchyard-backend')).toBe('b')
      await res.text()
    }
    expect(b.stats().requests).toBe(3)
  })

  test('/health is 503 when no route can serve and /health/live stays 200', async () => {
    const a = startSimulator({ instant: true })
    await using gw = await startGateway({ backends: [{ name: 'a', kind: 'ollama', url: a.url }], routes, plugins: fastProbes })
    await a.close()
    await until(async () => (await fetch(`${gw.url}/health`)).status === 503, 1_500, '/health 503')
    expect((await fetch(`${gw.url}/health/live`)).status).toBe(200)
  })

  test('a 500 from the first backend falls back to the next before any byte, visible in headers', async () => {
    await using a = startSimulator({ instant: true })
    await using b = startSimulator({ instant: true })
    await using gw = await startGateway({
      backends: [{ name: 'a', kind: 'ollama', url: a.url }, { name: 'b', kind: 'ollama', url: b.url }],
      plugins: fastProbes,
    })
    // Both serve the model: make whichever the selector picks first answer 500.
    const explain = await (await fetch(`${gw.url}/router/explain`, { method: 'POST', body: JSON.stringify({ model: 'qwen2.5-coder:7b', messages: [{ role: 'user', content: 'x' }] }) })).json()
    const first: string = explain.backend
    await queueFault(first === 'a' ? a.url : b.url, 'status-500', 1)
    const res = await chat(gw.url, 'qwen2.5-coder:7b')
    expect(res.status).toBe(200)
    expect(res.headers.get('x-switchyard-model')).toBe('qwen2.5-coder:7b')
    expect(res.headers.get('x-switchyard-reason')).toBe(`attempt 1 qwen2.5-coder:7b@${first} failed: HTTP 500`)
    expect(res.headers.get('x-switchyard-backend')).toBe(first === 'a' ? 'b' : 'a')
    await res.text()
  })

  test('the circuit opens after repeated failures and closes after recovery', async () => {
    await using a = startSimulator({ instant: true, models: ['qwen2.5-coder:7b'] })
    await using gw = await startGateway({
      backends: [{ name: 'a', kind: 'ollama', url: a.url }],
      health: { failureThreshold: 2, openMs: 300 },
      plugins: fastProbes,
    })
    await queueFault(a.url, 'status-500', 10)
    for (let i = 0; i < 2; i++) expect((await chat(gw.url, 'qwen2.5-coder:7b')).status).toBe(502)
    const health = await (await fetch(`${gw.url}/health`)).json()
    expect(health.backends[0].circuit).toBe('open')
    const refused = await chat(gw.url, 'qwen2.5-coder:7b')
    expect(refused.status).toBe(503)
    expect((await refused.json()).error).toContain('circuit open')
    expect(a.stats().requests).toBe(2)
    await fetch(`${a.url}/sim/faults`, { method: 'DELETE' })
    await until(async () => (await chat(gw.url, 'qwen2.5-coder:7b')).status === 200, 2_000, 'a trial request to pass after openMs')
    const after = await (await fetch(`${gw.url}/health`)).json()
    expect(after.backends[0].circuit).toBe('closed')
  })

  test('health.failureRate opens the circuit on a failure share with no failures in a row', async () => {
    await using a = startSimulator({ instant: true, models: ['qwen2.5-coder:7b'] })
    await using gw = await startGateway({
      backends: [{ name: 'a', kind: 'ollama', url: a.url }],
      health: { failureThreshold: 100, failureRate: { threshold: 0.5, windowMs: 60_000, minRequests: 4 } },
      plugins: fastProbes,
    })
    const statuses: number[] = []
    for (const failing of [true, false, true, false, true]) {
      if (failing) await queueFault(a.url, 'status-500', 1)
      const res = await chat(gw.url, 'qwen2.5-coder:7b')
      await res.text()
      statuses.push(res.status)
    }
    // Three of five failed: the fifth outcome tripped the rate.
    expect(statuses).toEqual([502, 200, 502, 200, 502])
    const refused = await chat(gw.url, 'qwen2.5-coder:7b')
    expect(refused.status).toBe(503)
    expect((await refused.json()).error).toContain('circuit open')
  })

  test('a half-open backend gets a trial request ahead of its healthy twin, and closes when it succeeds', async () => {
    await using a = startSimulator({ instant: true, models: ['qwen2.5-coder:7b'] })
    await using b = startSimulator({ instant: true, models: ['qwen2.5-coder:7b'] })
    await using gw = await startGateway({
      backends: [{ name: 'a', kind: 'ollama', url: a.url }, { name: 'b', kind: 'ollama', url: b.url }],
      health: { failureThreshold: 1, openMs: 300 },
      plugins: fastProbes,
    })
    const explain = await (await fetch(`${gw.url}/router/explain`, { method: 'POST', body: JSON.stringify({ model: 'qwen2.5-coder:7b', messages: [{ role: 'user', content: 'x' }] }) })).json()
    const sick: string = explain.backend
    const sickSim = sick === 'a' ? a : b
    await queueFault(sickSim.url, 'status-500', 1)
    // The first choice fails once (its circuit opens) and the twin answers.
    const res = await chat(gw.url, 'qwen2.5-coder:7b')
    expect(res.status).toBe(200)
    expect(res.headers.get('x-switchyard-backend')).not.toBe(sick)
    await res.text()
    expect(gw.gateway.deps.health.circuit(sick)).toBe('open')
    await until(async () => {
      const res = await chat(gw.url, 'qwen2.5-coder:7b')
      await res.text()
      return res.headers.get('x-switchyard-backend') === sick
    }, 2_000, 'a trial request on the recovering backend')
    expect(gw.gateway.deps.health.circuit(sick)).toBe('closed')
  })

  test('a backend with the model already loaded is preferred over a cold one', async () => {
    await using cold = startSimulator({ instant: true, models: ['qwen2.5-coder:7b'] })
    await using warm = startSimulator({ instant: true, models: ['qwen2.5-coder:7b'] })
    await fetch(`${warm.url}/api/generate`, { method: 'POST', body: JSON.stringify({ model: 'qwen2.5-coder:7b', stream: false }) })
    await using gw = await startGateway({
      backends: [{ name: 'cold', kind: 'ollama', url: cold.url }, { name: 'warm', kind: 'ollama', url: warm.url }],
      plugins: fastProbes,
    })
    const res = await chat(gw.url, 'qwen2.5-coder:7b')
    expect(res.headers.get('x-switchyard-backend')).toBe('warm')
    await res.text()
    const explain = await (await fetch(`${gw.url}/router/explain`, { method: 'POST', body: JSON.stringify({ model: 'qwen2.5-coder:7b', messages: [{ role: 'user', content: 'x' }] }) })).json()
    expect(explain.reasons.join(' ')).toContain('warm')
  })

  test('a cold model that does not fit in free VRAM goes to the GPU with room (fake nvidia-smi)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nvsmi-'))
    const fixture = resolve(import.meta.dir, '../fixtures/nvidia-smi/two-gpus-one-busy.csv')
    const script = join(dir, 'nvidia-smi')
    await Bun.write(script, `#!/bin/sh\ncat '${fixture}'\n`)
    chmodSync(script, 0o755)
    await using busy = startSimulator({ instant: true, models: ['deepseek-coder:33b', 'qwen2.5-coder:1.5b'] })
    await using idle = startSimulator({ instant: true, models: ['deepseek-coder:33b'] })
    await using gw = await startGateway({
      backends: [{ name: 'busy', kind: 'ollama', url: busy.url, gpu: 0 }, { name: 'idle', kind: 'ollama', url: idle.url, gpu: 1 }],
      plugins: [...fastProbes, { use: 'nvidia-smi-probe', options: { binary: script, intervalMs: 200 } }],
    })
    await until(() => gw.gateway.deps.health.gpus().length === 2, 2_000, 'GPUs from nvidia-smi')
    const health = await (await fetch(`${gw.url}/health`)).json()
    expect(health.gpus[0]).toMatchObject({ index: 0, memoryUsedMiB: 61234, memoryTotalMiB: 81920, utilization: 97, backends: ['busy'] })
    const explain = await (await fetch(`${gw.url}/router/explain`, { method: 'POST', body: JSON.stringify({ model: 'deepseek-coder:33b', messages: [{ role: 'user', content: 'x' }] }) })).json()
    expect(explain.backend).toBe('idle')
    expect(explain.reasons.join(' ')).toContain('busy: does not fit in free VRAM')
    const small = await chat(gw.url, 'qwen2.5-coder:1.5b')
    expect(small.headers.get('x-switchyard-backend')).toBe('busy')
    await small.text()
  })

  test('with no routes, auto is built from discovered models by size', async () => {
    await using sim = startSimulator({ instant: true, models: ['qwen2.5-coder:1.5b', 'qwen2.5-coder:7b', 'deepseek-coder:33b', 'nomic-embed-text:latest'] })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: [{ use: 'keyword-classifier' }, ...fastProbes] })
    const health = await (await fetch(`${gw.url}/health`)).json()
    expect(health.routes.auto).toEqual({ SIMPLE: 'qwen2.5-coder:1.5b@gpu0', MODERATE: 'qwen2.5-coder:7b@gpu0', COMPLEX: 'deepseek-coder:33b@gpu0' })
    const res = await chat(gw.url, 'auto', 'add a docstring to this')
    expect(res.headers.get('x-switchyard-model')).toBe('qwen2.5-coder:1.5b')
    await res.text()
  })

  test('keepWarm loads the model at startup', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({
      backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }],
      models: { 'qwen2.5-coder:7b': { keepWarm: true } },
      plugins: fastProbes,
    })
    await until(async () => (await (await fetch(`${sim.url}/api/ps`)).json()).models.some((m: { name: string }) => m.name === 'qwen2.5-coder:7b'), 2_000, 'the model to be loaded')
    expect(gw.logs.join('')).toContain('model warm')
  })
})
