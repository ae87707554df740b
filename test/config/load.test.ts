import { describe, expect, test } from 'bun:test'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { loadConfig, ollamaHostUrl, parseConfig } from '../../src/config/load.ts'
import { ConfigError } from '../../src/errors.ts'

const ROOT = resolve(import.meta.dir, '../..')

function issuesOf(raw: unknown): string[] {
  try {
    parseConfig(raw)
  } catch (error) {
    if (error instanceof ConfigError) return [...error.issues]
    throw error
  }
  return []
}

async function runGateway(args: string[], env: Record<string, string> = {}) {
  const proc = Bun.spawn([process.execPath, 'src/main.ts', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdout: 'pipe', stderr: 'pipe' })
  const timer = setTimeout(() => proc.kill(), 4_000)
  const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()])
  clearTimeout(timer)
  return { code, stderr }
}

describe('config validation', () => {
  test('the example config in the issue is valid', () => {
    const config = parseConfig({
      server: { host: '127.0.0.1', port: 3333 },
      backends: [{ name: 'gpu0', kind: 'ollama', url: 'http://127.0.0.1:11434' }, { name: 'vllm', kind: 'openai', url: 'http://127.0.0.1:8000' }],
      models: { 'qwen2.5-coder:1.5b': { backends: ['gpu0'] } },
      routes: { auto: { SIMPLE: ['qwen2.5-coder:1.5b'], MODERATE: ['qwen2.5-coder:7b'], COMPLEX: ['deepseek-coder:33b', 'qwen2.5-coder:7b'] } },
      plugins: [{ use: 'keyword-classifier', options: {} }, { use: './plugins/my-classifier.ts', options: { threshold: 0.7 } }],
    })
    expect(config.server.port).toBe(3333)
    expect(config.routes?.auto?.default).toBe('MODERATE')
  })

  test('each bad field is named by its path', () => {
    const issues = issuesOf({
      server: { port: 'x', bogus: 1 },
      backends: [{ name: 'a', kind: 'tgi', url: 'not a url' }],
      health: { failureRate: { threshold: 1.5, windowMs: 1_000, minRequests: 3 } },
      extra: true,
    })
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^server\.port: /),
        expect.stringMatching(/^server\.bogus: /),
        expect.stringMatching(/^backends\[0\]\.kind: /),
        expect.stringMatching(/^backends\[0\]\.url: /),
        expect.stringMatching(/^health\.failureRate\.threshold: /),
        expect.stringMatching(/^extra: /),
      ]),
    )
  })

  test('references between sections are checked', () => {
    const issues = issuesOf({
      backends: [{ name: 'a', kind: 'ollama', url: 'http://x:1' }, { name: 'a', kind: 'ollama', url: 'http://y:1' }],
      models: { m: { backends: ['nope'] } },
      routes: { auto: {} },
    })
    expect(issues).toEqual([
      'backends[1].name: duplicate backend name "a"',
      'models.m.backends[0]: unknown backend "nope"; backends: a',
      'routes.auto: lists no models for any class',
    ])
  })

  test('a route escalate block is checked field by field, and needs a class above each class it audits', () => {
    const backends = [{ name: 'a', kind: 'ollama', url: 'http://x:1' }]
    expect(issuesOf({ backends, routes: { auto: { SIMPLE: ['s'], MODERATE: ['m'], escalate: { threshold: 2, mode: 'later', maxEscalations: 0 } } } })).toEqual([
      'routes.auto.escalate.threshold: Invalid value: Expected <=1 but received 2',
      'routes.auto.escalate.mode: Invalid type: Expected ("buffer" | "parallel") but received "later"',
      'routes.auto.escalate.maxEscalations: Invalid value: Expected >=1 but received 0',
    ])
    expect(issuesOf({ backends, routes: { auto: { SIMPLE: ['s'], MODERATE: ['m'], escalate: { classes: ['SIMPLE', 'MODERATE'] } } } })).toEqual([
      'routes.auto.escalate.classes[1]: no class above MODERATE lists models, so a MODERATE draft has nowhere to escalate',
    ])
    const ok = parseConfig({ backends, costPerGpuHour: 2.5, routes: { auto: { SIMPLE: ['s'], COMPLEX: ['c'], escalate: {} } } })
    expect(ok.routes?.auto?.escalate).toEqual({ auditor: 'heuristic-auditor', threshold: 0.5, mode: 'buffer', maxEscalations: 1, classes: ['SIMPLE', 'MODERATE'] })
  })

  test('teams are checked as a whole: one team per key, known routes and models, no route left without an allowed model', () => {
    const backends = [{ name: 'a', kind: 'ollama', url: 'http://x:1' }]
    const routes = { auto: { SIMPLE: ['s'], COMPLEX: ['c'] }, big: { COMPLEX: ['c'] } }
    const keys = [{ name: 'k1', key: 'key-one-1234', team: 'red' }, { name: 'k2', key: 'key-two-1234', team: 'nope' }]
    expect(issuesOf({
      backends, routes,
      auth: {
        keys,
        teams: [
          { name: 'red', keys: ['k1'] },
          { name: 'blue', keys: ['k1', 'ghost'], routes: { auto: { SIMPLE: ['s', 'unknown-model'] }, missing: {} } },
          { name: 'green', models: ['big', 's'] },
          { name: 'red' },
        ],
      },
    })).toEqual([
      'auth.teams[3].name: duplicate team "red"',
      'auth.keys[1].team: no team "nope"; teams: red, blue, green',
      'auth.teams[1].keys[0]: key "k1" is already in team "red"; a key belongs to one team',
      'auth.teams[1].keys[1]: no key named "ghost"; keys: k1, k2',
      'auth.teams[1].routes.auto.SIMPLE[1]: unknown model "unknown-model"; models named in the config: c, s',
      'auth.teams[1].routes.missing: no route "missing"; routes: auto, big',
      'auth.teams[2].models: leaves route "big" with no allowed model (its models: c)',
    ])
    expect(issuesOf({ backends, routes, auth: { keys: [{ key: 'key-one-1234', team: 'x' }] } })).toEqual(['auth.keys[0].team: no team "x"; auth.teams is empty'])
  })

  test('OLLAMA_HOST forms are read as Ollama reads them', () => {
    expect(ollamaHostUrl(undefined)).toBe('http://127.0.0.1:11434')
    expect(ollamaHostUrl('0.0.0.0')).toBe('http://127.0.0.1:11434')
    expect(ollamaHostUrl('gpu-box:9999')).toBe('http://gpu-box:9999')
    expect(ollamaHostUrl('https://ollama.example')).toBe('https://ollama.example')
  })

  test('a .ts config exporting defineConfig loads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-'))
    const path = join(dir, 'switchyard.config.ts')
    await Bun.write(path, `import { defineConfig } from '${ROOT}/src/config/define.ts'\nexport default defineConfig({ backends: [{ name: 'g', kind: 'ollama', url: 'http://127.0.0.1:1' }] })\n`)
    const loaded = await loadConfig(path)
    expect(loaded.config.backends[0]?.name).toBe('g')
    expect(loaded.baseDir).toBe(dir)
  })
})

describe('the gateway process and bad config', () => {
  test('a bad config file exits 1 and names each bad field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-'))
    const path = join(dir, 'bad.json')
    await Bun.write(path, JSON.stringify({ backends: [{ name: 'a', kind: 'ollama', url: 'ftp://x' }], routes: { auto: { SIMPLE: 'm' } } }))
    const { code, stderr } = await runGateway(['--config', path, '--port', '0'])
    expect(code).toBe(1)
    expect(stderr).toContain('backends[0].url')
    expect(stderr).toContain('routes.auto.SIMPLE')
  })

  test('bad plugin options exit 1 naming the plugin entry and option', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-'))
    const path = join(dir, 'bad-plugin.json')
    await Bun.write(path, JSON.stringify({
      backends: [{ name: 'a', kind: 'ollama', url: 'http://127.0.0.1:1' }],
      plugins: [{ use: 'keyword-classifier', options: { nope: 1 } }, { use: 'no-such-plugin' }],
    }))
    const { code, stderr } = await runGateway(['--config', path, '--port', '0'], { SWITCHYARD_LOG_LEVEL: 'error' })
    expect(code).toBe(1)
    expect(stderr).toContain('plugins[0].options.nope')
    expect(stderr).toContain('plugins[1].use: unknown plugin "no-such-plugin"')
  })

  test('SWITCHYARD_CONFIG names the file when no flag is given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-'))
    const path = join(dir, 'env.json')
    await Bun.write(path, JSON.stringify({ backends: [] }))
    const { code, stderr } = await runGateway(['--port', '0'], { SWITCHYARD_CONFIG: path })
    expect(code).toBe(1)
    expect(stderr).toContain('backends: at least one backend is required')
  })

  test('listening beyond loopback needs API keys or server.allowUnauthenticated', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-'))
    const open = join(dir, 'open.json')
    await Bun.write(open, JSON.stringify({ backends: [{ name: 'a', kind: 'ollama', url: 'http://127.0.0.1:1' }] }))
    const refused = await runGateway(['--config', open, '--host', '0.0.0.0', '--port', '0'], { SWITCHYARD_LOG_LEVEL: 'error' })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('refusing to listen on 0.0.0.0 with no API keys')
    expect(refused.stderr).toContain('server.allowUnauthenticated')
    const allowed = join(dir, 'allowed.json')
    await Bun.write(allowed, JSON.stringify({ server: { allowUnauthenticated: true }, backends: [{ name: 'a', kind: 'ollama', url: 'http://127.0.0.1:1' }] }))
    const started = await runGateway(['--config', allowed, '--host', '0.0.0.0', '--port', '0'])
    expect(started.code).not.toBe(1)
    expect(started.stderr).toContain('allowUnauthenticated')
  }, 15_000)
})
