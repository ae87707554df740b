import { describe, expect, test } from 'bun:test'
import { startSimulator } from '../../src/sim/server.ts'
import { startGateway } from '../support/gateway.ts'
import { runScript, writeConfig } from './run-script.ts'

const routes = { auto: { SIMPLE: ['qwen2.5-coder:1.5b'], MODERATE: ['qwen2.5-coder:7b'], COMPLEX: ['deepseek-coder:33b'] } }
const plugins = [{ use: 'keyword-classifier' }, { use: 'ollama-probe', options: { intervalMs: 200 } }, { use: 'openai-probe', options: { intervalMs: 200 } }]

describe('bun run explain', () => {
  test('prints the class, confidence, reasons and chosen model from the config, without calling a model', async () => {
    await using small = startSimulator({ instant: true, models: ['qwen2.5-coder:1.5b', 'qwen2.5-coder:7b'] })
    await using big = startSimulator({ instant: true, models: ['deepseek-coder:33b'] })
    const config = writeConfig({ backends: [{ name: 'gpu0', kind: 'ollama', url: small.url }, { name: 'vllm', kind: 'openai', url: big.url }], routes, plugins })
    const { code, stdout } = await runScript('explain.ts', ['--config', config, 'write a docstring for foo'])
    expect(code).toBe(0)
    expect(stdout).toMatch(/class\s+SIMPLE confidence 0\.\d\d by keyword-classifier/)
    expect(stdout).toMatch(/model\s+qwen2\.5-coder:1\.5b on gpu0/)
    expect(stdout).toContain("simple keyword 'docstring'")
    expect(small.stats().requests + big.stats().requests).toBe(0)
    const complex = await runScript('explain.ts', ['--config', config, '--json', 'refactor this module and redesign the architecture'])
    expect(JSON.parse(complex.stdout)).toMatchObject({ class: 'COMPLEX', model: 'deepseek-coder:33b', backend: 'vllm' })
  })

  test('--url asks a running gateway', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], routes, plugins })
    const { code, stdout } = await runScript('explain.ts', ['--url', gw.url, 'refactor this module and redesign the architecture'])
    expect(code).toBe(0)
    expect(stdout).toMatch(/class\s+COMPLEX/)
    expect(stdout).toMatch(/model\s+deepseek-coder:33b on gpu0/)
  })

  test('says which backend is missing and exits 1 when nothing can serve the class', async () => {
    const config = writeConfig({ backends: [{ name: 'gone', kind: 'ollama', url: 'http://127.0.0.1:9' }], routes, plugins })
    const { code, stdout } = await runScript('explain.ts', ['--config', config, 'write a docstring for foo'])
    expect(code).toBe(1)
    expect(stdout).toContain('no backend can serve this now')
    expect(stdout).toContain('gone: down')
  })

  test('a bad config or no prompt is an error with usage', async () => {
    const bad = await runScript('explain.ts', ['--config', writeConfig({ backends: [] }), 'hi'])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('backends')
    const none = await runScript('explain.ts', [])
    expect(none.code).toBe(2)
    expect(none.stderr).toContain('usage: bun run explain')
  })
})
