import { describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { startSimulator } from '../../src/sim/server.ts'
import { fakeNvidiaSmiDir, runScript, writeConfig } from './run-script.ts'

const routes = { auto: { SIMPLE: ['qwen2.5-coder:1.5b'], MODERATE: ['qwen2.5-coder:7b'], COMPLEX: ['deepseek-coder:33b'] } }
/** A PATH with no nvidia-smi on it (the child is started by absolute path, so it needs none). */
const NO_GPU = { PATH: '/nonexistent' }
/** What nvidia-smi answers to the GPU query on a two-A100 machine (doctor asks what the nvidia-smi-probe asks). */
const A100S = readFileSync(resolve(import.meta.dir, '../fixtures/nvidia-smi/two-gpus-one-busy.csv'), 'utf8')

describe('bun run doctor', () => {
  test('passes with healthy backends that serve every routed model', async () => {
    await using small = startSimulator({ instant: true, models: ['qwen2.5-coder:1.5b', 'qwen2.5-coder:7b'] })
    await using big = startSimulator({ instant: true, models: ['deepseek-coder:33b'] })
    const config = writeConfig({ backends: [{ name: 'gpu0', kind: 'ollama', url: small.url }, { name: 'vllm', kind: 'openai', url: big.url }], routes })
    const { code, stdout } = await runScript('doctor.ts', ['--config', config], NO_GPU)
    expect(code).toBe(0)
    expect(stdout).toMatch(/✓ ok\s+backend gpu0/)
    expect(stdout).toMatch(/✓ ok\s+backend vllm/)
    expect(stdout).toMatch(/✓ ok\s+route auto\s+SIMPLE → qwen2\.5-coder:1\.5b@gpu0/)
    expect(stdout).toMatch(/✓ ok\s+gpu\s+nvidia-smi not found; no backend names a GPU/)
    expect(stdout).toContain('all good')
  })

  test('reports a dead backend with a fix and exits non-zero', async () => {
    await using small = startSimulator({ instant: true, models: ['qwen2.5-coder:1.5b', 'qwen2.5-coder:7b'] })
    const config = writeConfig({ backends: [{ name: 'gpu0', kind: 'ollama', url: small.url }, { name: 'big', kind: 'ollama', url: 'http://127.0.0.1:9' }], routes })
    const { code, stdout } = await runScript('doctor.ts', ['--config', config, '--json'], NO_GPU)
    expect(code).toBe(1)
    const { ok, checks } = JSON.parse(stdout)
    expect(ok).toBe(false)
    const byName = Object.fromEntries(checks.map((c: { check: string }) => [c.check, c]))
    expect(byName['backend gpu0'].status).toBe('ok')
    expect(byName['backend big']).toMatchObject({ status: 'fail', detail: expect.stringContaining('unreachable') })
    expect(byName['backend big'].fix).toContain('ollama serve')
    expect(byName['model deepseek-coder:33b']).toMatchObject({ status: 'warn', fix: expect.stringContaining('ollama pull deepseek-coder:33b') })
    expect(byName['route auto']).toMatchObject({ status: 'fail', detail: expect.stringContaining('COMPLEX → nothing') })
  })

  test('an invalid config fails with the field named', async () => {
    const config = writeConfig({ backends: [{ name: 'x', kind: 'ollama', url: 'not a url' }] })
    const { code, stdout } = await runScript('doctor.ts', ['--config', config], NO_GPU)
    expect(code).toBe(1)
    expect(stdout).toMatch(/✗ FAIL\s+config\s+backends\[0\]\.url/)
  })

  test('sees the GPUs nvidia-smi lists and names a backend placed on a GPU that does not exist', async () => {
    await using sim = startSimulator({ instant: true, models: ['qwen2.5-coder:1.5b', 'qwen2.5-coder:7b', 'deepseek-coder:33b'] })
    const config = writeConfig({
      backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url, gpu: 1 }, { name: 'other', kind: 'ollama', url: sim.url, gpu: 3 }], routes,
      plugins: [{ use: 'ollama-probe' }, { use: 'nvidia-smi-probe' }],
    })
    const { code, stdout } = await runScript('doctor.ts', ['--config', config, '--json'], { PATH: fakeNvidiaSmiDir(A100S) })
    expect({ code, failed: JSON.parse(stdout).checks.filter((c: { status: string }) => c.status === 'fail') }).toEqual({ code: 0, failed: [] })
    const gpu = JSON.parse(stdout).checks.find((c: { check: string }) => c.check === 'gpu')
    expect(gpu.status).toBe('warn')
    expect(gpu.detail).toContain('2 GPU(s): 0 NVIDIA A100-SXM4-80GB 61234/81920 MiB')
    expect(gpu.detail).toContain('no such GPU for other→3')
    expect(gpu.fix).toContain('backends[].gpu')
  })
})
