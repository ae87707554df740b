import { describe, expect, test } from 'bun:test'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway } from '../support/gateway.ts'
import { runScript } from './run-script.ts'

describe('bun run feedback', () => {
  test('labels a recorded decision through a running gateway, with the admin key from the environment', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({
      stateDir: mkdtempSync(join(tmpdir(), 'switchyard-feedback-')), auth: { adminKey: 'admin-key-123' },
      backends: [{ name: 'sim', kind: 'ollama', url: sim.url }], routes: { auto: { SIMPLE: ['qwen2.5-coder:1.5b'], MODERATE: ['qwen2.5-coder:7b'], COMPLEX: ['deepseek-coder:33b'] } },
      plugins: [{ use: 'keyword-classifier' }, ...fastProbes],
    })
    const res = await fetch(`${gw.url}/api/generate`, { method: 'POST', body: JSON.stringify({ model: 'auto', prompt: 'hello', stream: false }) })
    await res.text()
    const id = res.headers.get('x-switchyard-request-id')!
    const ok = await runScript('feedback.ts', ['--url', gw.url, '--request-id', id, '--label', 'complex'], { SWITCHYARD_ADMIN_KEY: 'admin-key-123' })
    expect(ok).toMatchObject({ code: 0, stdout: `recorded: ${id} -> COMPLEX\n` })
    const rows = await (await fetch(`${gw.url}/router/history`, { headers: { authorization: 'Bearer admin-key-123' } })).json()
    expect(rows.decisions[0].feedback).toEqual({ label: 'COMPLEX', source: 'feedback' })
    const denied = await runScript('feedback.ts', ['--url', gw.url, '--request-id', id, '--verdict', 'good'], { SWITCHYARD_ADMIN_KEY: '' })
    expect(denied.code).toBe(1)
    expect(denied.stderr).toContain('HTTP 401')
    const unknown = await runScript('feedback.ts', ['--url', gw.url, '--request-id', 'nope', '--verdict', 'good', '--key', 'admin-key-123'])
    expect(unknown.stderr).toContain('HTTP 404')
    expect((await runScript('feedback.ts', ['--request-id', id])).code).toBe(2)
  }, 15_000)
})
