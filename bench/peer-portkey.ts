/** The optional peer: Portkey's AI gateway (`@portkey-ai/gateway`, run with Node as published), installed on demand. */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { type Child, SERVER_CORE, freePort, startChild } from './processes.ts'

/** Installed beside the bench, not into the project's node_modules: `--no-save` there would still churn the shared tree. */
const PREFIX = join(import.meta.dir, '.peer')
const ENTRY = join(PREFIX, 'node_modules/@portkey-ai/gateway/build/start-server.js')

export async function ensurePortkey(): Promise<string> {
  if (existsSync(ENTRY)) return ENTRY
  if (!Bun.which('node') || !Bun.which('npm')) throw new Error('Portkey needs node and npm on PATH')
  console.error('installing @portkey-ai/gateway into bench/.peer (npm install --no-save) ...')
  const proc = Bun.spawn(['npm', 'install', '--no-save', '--no-audit', '--no-fund', '--prefix', PREFIX, '@portkey-ai/gateway'], { stdout: 'ignore', stderr: 'pipe' })
  const err = await new Response(proc.stderr).text()
  if ((await proc.exited) !== 0 || !existsSync(ENTRY)) throw new Error(`npm install @portkey-ai/gateway failed: ${err.slice(-500)}`)
  return ENTRY
}

/** Portkey proxies OpenAI-style requests; the provider and its host travel in headers on every request. */
export function portkeyHeaders(upstream: string): Record<string, string> {
  return { 'x-portkey-provider': 'ollama', 'x-portkey-custom-host': upstream }
}

export async function startPortkey(): Promise<Child> {
  const entry = await ensurePortkey()
  const port = freePort()
  return startChild({
    name: 'portkey',
    cmd: ['node', entry, `--port=${port}`, '--headless'],
    url: `http://127.0.0.1:${port}`,
    core: SERVER_CORE,
    env: { NODE_ENV: 'production' },
    readyTimeoutMs: 30_000,
  })
}
