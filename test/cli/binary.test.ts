/** The standalone binary (`npm run build`): built, then run from an empty folder with no node_modules near it. */
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { until } from '../support/until.ts'

const ROOT = resolve(import.meta.dir, '../..')
const TMP = mkdtempSync(join(tmpdir(), 'switchyard-bin-'))
const BINARY = join(TMP, 'switchyard')
const routes = { auto: { SIMPLE: ['qwen2.5-coder:1.5b'], MODERATE: ['qwen2.5-coder:7b'], COMPLEX: ['deepseek-coder:33b'] } }

/**
 * `npm run build` as package.json writes it, into a folder of this test's own (another run's `dist/` is never read or
 * overwritten). A failed build fails the tests that need it; nothing is skipped.
 */
async function buildBinary(): Promise<string> {
  const pkg = (await Bun.file(join(ROOT, 'package.json')).json()) as { scripts: Record<string, string> }
  const args = pkg.scripts.build!.split(/\s+/)
  const at = args.indexOf('--outfile')
  expect(args[0]).toBe('bun')
  expect(args[at + 1]).toBe('dist/switchyard')
  args.splice(0, 1, process.execPath)
  args.splice(at + 1, 1, BINARY)
  const proc = Bun.spawn(args, { cwd: ROOT, stdout: 'pipe', stderr: 'pipe' })
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  if (code !== 0) throw new Error(`bun build --compile failed (exit ${code}):\n${out}${err}`)
  return BINARY
}

let built: Promise<string> | undefined
const binary = () => (built ??= buildBinary())

afterAll(() => rmSync(TMP, { recursive: true, force: true }))

/** A child process of the binary whose stdout and stderr are collected as they arrive. */
function spawnBinary(bin: string, args: readonly string[], cwd: string) {
  const proc = Bun.spawn([bin, ...args], { cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, NO_COLOR: '1' }, stdout: 'pipe', stderr: 'pipe' })
  let text = ''
  let stdout = ''
  for (const stream of [proc.stdout, proc.stderr]) {
    void (async () => {
      const decoder = new TextDecoder()
      for await (const chunk of stream as ReadableStream<Uint8Array>) {
        const part = decoder.decode(chunk, { stream: true })
        text += part
        if (stream === proc.stdout) stdout += part
      }
    })()
  }
  const handle = {
    proc,
    /** stdout and stderr as they arrived. */
    output: () => text,
    stdout: () => stdout,
    /** The `http://…` URL after `listening on` in the output, once it is there. */
    async url(): Promise<string> {
      await until(() => /listening on http:\/\/[\d.]+:\d+/.test(text) || proc.exitCode !== null, 10_000, `${args[0] ?? 'gateway'} to listen`)
      const url = text.match(/listening on (http:\/\/[\d.]+:\d+)/)?.[1]
      if (!url) throw new Error(`the binary did not start:\n${text}`)
      return url
    },
    async [Symbol.asyncDispose]() {
      if (proc.exitCode === null) proc.kill('SIGKILL')
      await proc.exited
    },
  }
  return handle
}

const userPlugin = (label: string, says: string) => `
import * as v from 'valibot'
import { definePlugin, TASK_CLASSES } from 'switchyard/plugin'

export default definePlugin({
  name: 'folder-classifier',
  kind: 'classifier',
  options: v.strictObject({ label: v.optional(v.picklist(TASK_CLASSES), '${label}') }),
  setup: ({ options: { label } }) => ({
    classify: () => ({ label, confidence: 0.9, scores: { SIMPLE: 0, MODERATE: 0, COMPLEX: 0, [label]: 0.9 }, reasons: ['${says}'] }),
  }),
})
`

// Each request its own prompt: a repeated conversation keeps the class it reached (conversation affinity).
const chat = (url: string, content: string, { stream = false, model = 'auto' } = {}) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, stream, messages: [{ role: 'user', content }] }),
  })

describe('the standalone binary', () => {
  test('from an empty folder: simulator, a user plugin importing the SDK and valibot, explain, a reload, SIGTERM during a stream', async () => {
    const bin = await binary()
    const dir = mkdtempSync(join(TMP, 'run-'))
    await using sim = spawnBinary(bin, ['sim', '--port', '0', '--instant', '--models', 'qwen2.5-coder:1.5b,qwen2.5-coder:7b,deepseek-coder:33b'], dir)
    // A paced simulator, so a stream is still open when the gateway is told to stop.
    await using paced = spawnBinary(bin, ['sim', '--port', '0', '--speed', '10', '--tokens', '40', '--models', 'llama3.2:3b'], dir)
    const [simUrl, pacedUrl] = await Promise.all([sim.url(), paced.url()])
    writeFileSync(join(dir, 'folder-classifier.ts'), userPlugin('COMPLEX', 'the folder plugin says so'))
    const config = {
      backends: [{ name: 'sim', kind: 'ollama', url: simUrl }, { name: 'paced', kind: 'ollama', url: pacedUrl }],
      routes,
      plugins: [{ use: './folder-classifier.ts' }],
    }
    writeFileSync(join(dir, 'switchyard.config.json'), JSON.stringify(config))

    await using gw = spawnBinary(bin, ['--config', 'switchyard.config.json', '--port', '0'], dir)
    const url = await gw.url()
    const res = await chat(url, 'Write a haiku about routers.')
    expect(res.status).toBe(200)
    expect(res.headers.get('x-switchyard-class')).toBe('COMPLEX')
    expect(res.headers.get('x-switchyard-model')).toBe('deepseek-coder:33b')
    expect(res.headers.get('x-switchyard-reason')).toContain('the folder plugin says so')
    const body = (await res.json()) as { choices: { message: { content: string } }[] }
    expect(body.choices[0]!.message.content).toStartWith('[deepseek-coder:33b]')

    // `explain` builds its own gateway from the same folder's config, user plugin included.
    await using explain = spawnBinary(bin, ['explain', '--json', '--config', 'switchyard.config.json', 'Write a haiku about routers.'], dir)
    expect(await explain.proc.exited).toBe(0)
    expect(JSON.parse(explain.stdout())).toMatchObject({ class: 'COMPLEX', model: 'deepseek-coder:33b' })

    // The edited plugin file is imported again on SIGHUP.
    writeFileSync(join(dir, 'folder-classifier.ts'), userPlugin('SIMPLE', 'the edited plugin says so'))
    gw.proc.kill('SIGHUP')
    await until(() => gw.output().includes('config reloaded'), 10_000, 'the reload')
    const after = await chat(url, 'Name three sorting algorithms.')
    expect(after.headers.get('x-switchyard-class')).toBe('SIMPLE')
    expect(after.headers.get('x-switchyard-reason')).toContain('the edited plugin says so')
    await after.arrayBuffer()

    const stream = await chat(url, 'Count to forty.', { stream: true, model: 'llama3.2:3b' })
    expect(stream.status).toBe(200)
    const reader = stream.body!.getReader()
    await reader.read()
    gw.proc.kill('SIGTERM')
    let text = ''
    const decoder = new TextDecoder()
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += decoder.decode(chunk.value)
    expect(text.trim().endsWith('data: [DONE]')).toBe(true)
    expect(await gw.proc.exited).toBe(0)
  }, 120_000)

  test('a retrain inside the binary reads the embedded training data in its worker', async () => {
    const bin = await binary()
    const dir = mkdtempSync(join(TMP, 'retrain-'))
    await using sim = spawnBinary(bin, ['sim', '--port', '0', '--instant'], dir)
    const config = {
      backends: [{ name: 'sim', kind: 'ollama', url: await sim.url() }],
      routes,
      plugins: [{ use: 'learned-classifier' }, { use: 'sqlite-history', options: { flushMs: 5 } }],
    }
    writeFileSync(join(dir, 'switchyard.config.json'), JSON.stringify(config))
    await using gw = spawnBinary(bin, ['--port', '0'], dir)
    const url = await gw.url()
    const rows = (await Bun.file(join(ROOT, 'data/routing-dev.jsonl')).text()).split('\n').filter((l) => l.trim())
      .map((l) => JSON.parse(l) as { prompt: string; source: string }).filter((r) => r.source === 'mbpp-plus').slice(0, 40)
    const ids: string[] = []
    for (const row of rows) {
      const res = await fetch(`${url}/v1/chat/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: row.prompt }] }),
      })
      await res.arrayBuffer()
      ids.push(res.headers.get('x-switchyard-request-id')!)
    }
    for (const requestId of ids) {
      await until(async () => {
        const res = await fetch(`${url}/router/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ requestId, verdict: 'too-strong' }) })
        await res.arrayBuffer()
        return res.status === 200
      }, 5_000, `decision ${requestId} in the history`)
    }
    const res = await fetch(`${url}/router/retrain`, { method: 'POST' })
    expect(res.status).toBe(200)
    const result = (await res.json()) as { promoted: boolean; before: { keptShipped?: { rows: number } } }
    expect(result.before.keptShipped?.rows).toBeGreaterThan(1_000)
    expect(result.promoted).toBe(true)
    expect(gw.output()).not.toContain('retrain worker')
  }, 120_000)
})
