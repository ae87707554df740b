/** ollama-probe against scripted Ollama servers on 127.0.0.1: listing, loaded models, down and hanging backends. */
import { describe, expect, test } from 'bun:test'
import * as v from 'valibot'
import type { GatewayInfo, Logger } from 'switchyard/plugin'
import ollamaProbe from '../../plugins/ollama-probe/index.ts'
import { parseParameterSize } from '../../plugins/ollama-probe/parse-ollama.ts'
import { keepNothing } from 'switchyard/plugin'

const TAGS = {
  models: [
    {
      name: 'qwen2.5-coder:1.5b',
      model: 'qwen2.5-coder:1.5b',
      modified_at: '2025-05-04T17:37:44.706015396-07:00',
      size: 986062089,
      digest: '6d3abb8d2d53ba8d6a4a2a3cf0b4e5a6e1b3b0e5d5a4c0f1e2d3c4b5a6978877',
      details: {
        parent_model: '',
        format: 'gguf',
        family: 'qwen2',
        families: ['qwen2'],
        parameter_size: '1.5B',
        quantization_level: 'Q4_K_M',
      },
    },
    {
      name: 'mxbai-embed-large:latest',
      model: 'mxbai-embed-large:latest',
      modified_at: '2025-04-11T09:12:03.1-07:00',
      size: 669615493,
      digest: '468836162de7f81e041c43663fedbbba921dcea9b9fefea135685a39b2d83dd8',
      details: {
        parent_model: '',
        format: 'gguf',
        family: 'bert',
        families: ['bert'],
        parameter_size: '334M',
        quantization_level: 'F16',
      },
    },
  ],
}

const PS = {
  models: [
    {
      name: 'qwen2.5-coder:1.5b',
      model: 'qwen2.5-coder:1.5b',
      size: 1595713536,
      digest: '6d3abb8d2d53ba8d6a4a2a3cf0b4e5a6e1b3b0e5d5a4c0f1e2d3c4b5a6978877',
      details: { parent_model: '', format: 'gguf', family: 'qwen2', families: ['qwen2'], parameter_size: '1.5B', quantization_level: 'Q4_K_M' },
      expires_at: '2025-05-04T18:42:51.012345678-07:00',
      size_vram: 1595713536,
      context_length: 4096,
    },
  ],
}

type Handler = (path: string) => Response | Promise<Response>

function ollamaServer(overrides: Record<string, Handler> = {}) {
  const routes: Record<string, Handler> = {
    '/api/version': () => Response.json({ version: '0.12.6' }),
    '/api/tags': () => Response.json(TAGS),
    '/api/ps': () => Response.json(PS),
    ...overrides,
  }
  return Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch(req) {
      const path = new URL(req.url).pathname
      const handler = routes[path]
      return handler ? handler(path) : new Response('404 page not found', { status: 404 })
    },
  })
}

function hangingServer() {
  return Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Promise<Response>(() => {}) })
}

function closedPortUrl(): string {
  const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('') })
  const url = `http://127.0.0.1:${server.port}`
  server.stop(true)
  return url
}

function recordingLogger() {
  const calls: { level: string; msg: string; fields?: Record<string, unknown> }[] = []
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => void calls.push({ level, msg, fields })
  const log: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
  return { log, calls }
}

async function setupProbe(input: Record<string, unknown>, backends: GatewayInfo['backends']) {
  const { log, calls } = recordingLogger()
  const probe = await ollamaProbe.setup({
    name: 'ollama-probe',
    options: v.parse(ollamaProbe.options, input),
    signal: new AbortController().signal,
    log,
    gateway: { backends },
    baseDir: process.cwd(), keep: keepNothing,
  })
  return { probe, calls }
}

describe('ollama-probe', () => {
  test('reports an answering backend up with its models and loaded models', async () => {
    using server = ollamaServer()
    const { probe } = await setupProbe({}, [{ name: 'laptop', kind: 'ollama', url: `http://127.0.0.1:${server.port}/` }])
    const report = await probe.check(AbortSignal.timeout(2_000))
    const laptop = report.backends?.[0]
    expect(laptop).toMatchObject({ name: 'laptop', up: true })
    expect(laptop?.error).toBeUndefined()
    expect(laptop?.latencyMs).toBeGreaterThanOrEqual(0)
    expect(laptop?.models).toEqual([
      { name: 'qwen2.5-coder:1.5b', parameterSize: '1.5B', parameters: 1.5e9, quantization: 'Q4_K_M', sizeBytes: 986062089, family: 'qwen2' },
      { name: 'mxbai-embed-large:latest', parameterSize: '334M', parameters: 3.34e8, quantization: 'F16', sizeBytes: 669615493, family: 'bert' },
    ])
    expect(laptop?.loaded).toEqual([
      { name: 'qwen2.5-coder:1.5b', sizeVramBytes: 1595713536, expiresAt: '2025-05-04T18:42:51.012345678-07:00' },
    ])
  })

  test('exposes its interval and timeout to the scheduler', async () => {
    const { probe } = await setupProbe({ intervalMs: 10_000, timeoutMs: 500 }, [])
    expect(probe.intervalMs).toBe(10_000)
    expect(probe.timeoutMs).toBe(500)
    const defaults = await setupProbe({}, [])
    expect(defaults.probe.intervalMs).toBe(5_000)
    expect(defaults.probe.timeoutMs).toBe(2_000)
  })

  test('reports a backend on a closed port down instead of throwing', async () => {
    const { probe } = await setupProbe({}, [{ name: 'gone', kind: 'ollama', url: closedPortUrl() }])
    const report = await probe.check(AbortSignal.timeout(2_000))
    expect(report.backends).toEqual([{ name: 'gone', up: false, error: '/api/version: connection refused' }])
  })

  test('gives up on a hanging backend when the signal fires', async () => {
    using server = hangingServer()
    const { probe } = await setupProbe({ timeoutMs: 60_000 }, [{ name: 'stuck', kind: 'ollama', url: server.url.href }])
    const report = await probe.check(AbortSignal.timeout(150))
    expect(report.backends).toEqual([{ name: 'stuck', up: false, error: '/api/version: timed out' }])
    server.stop(true)
  })

  test('applies its own timeoutMs even when the signal never fires', async () => {
    using server = hangingServer()
    const { probe } = await setupProbe({ timeoutMs: 150 }, [{ name: 'stuck', kind: 'ollama', url: server.url.href }])
    const report = await probe.check(new AbortController().signal)
    expect(report.backends?.[0]).toMatchObject({ up: false, error: '/api/version: timed out' })
    server.stop(true)
  })

  test('probes backends in parallel, so one hanging backend does not hide the others', async () => {
    using stuck = hangingServer()
    using ok = ollamaServer()
    const { probe } = await setupProbe({ timeoutMs: 300 }, [
      { name: 'stuck', kind: 'ollama', url: stuck.url.href },
      { name: 'ok', kind: 'ollama', url: ok.url.href },
    ])
    const report = await probe.check(new AbortController().signal)
    expect(report.backends?.map((b) => [b.name, b.up])).toEqual([['stuck', false], ['ok', true]])
    stuck.stop(true)
  })

  test('stays up and names the endpoint when only the listing fails', async () => {
    using server = ollamaServer({ '/api/tags': () => Response.json({ error: 'boom' }, { status: 500 }) })
    const { probe } = await setupProbe({}, [{ name: 'laptop', kind: 'ollama', url: server.url.href }])
    const laptop = (await probe.check(AbortSignal.timeout(2_000))).backends?.[0]
    expect(laptop).toMatchObject({ up: true, error: '/api/tags: HTTP 500' })
    expect(laptop?.models).toBeUndefined()
    expect(laptop?.loaded).toHaveLength(1)
  })

  test('probes only ollama backends, or only those named in options', async () => {
    using a = ollamaServer()
    using b = ollamaServer()
    const backends: GatewayInfo['backends'] = [
      { name: 'a', kind: 'ollama', url: a.url.href },
      { name: 'vllm', kind: 'openai', url: 'http://127.0.0.1:1' },
      { name: 'b', kind: 'ollama', url: b.url.href },
    ]
    const all = await setupProbe({}, backends)
    expect((await all.probe.check(AbortSignal.timeout(2_000))).backends?.map((r) => r.name)).toEqual(['a', 'b'])
    const some = await setupProbe({ backends: ['b', 'nope'] }, backends)
    expect((await some.probe.check(AbortSignal.timeout(2_000))).backends?.map((r) => r.name)).toEqual(['b'])
    expect(some.calls.filter((c) => c.level === 'warn')).toHaveLength(1)
  })

  test('rejects unknown options', () => {
    expect(() => v.parse(ollamaProbe.options, { intervalMs: 1_000, everyMs: 5 })).toThrow()
  })
})

describe('parseParameterSize', () => {
  test('reads Ollama parameter sizes', () => {
    expect(parseParameterSize('1.5B')).toBe(1.5e9)
    expect(parseParameterSize('334M')).toBe(3.34e8)
    expect(parseParameterSize('70.6B')).toBe(70.6e9)
    expect(parseParameterSize('8x7B')).toBe(56e9)
    expect(parseParameterSize('unknown')).toBeUndefined()
  })
})
