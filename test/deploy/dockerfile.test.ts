/** The Dockerfile (never built here: no Docker engine): its HEALTHCHECK runs against a real gateway, its COPY sources exist. */
import { describe, expect, test } from 'bun:test'
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { startSimulator } from '../../src/sim/server.ts'
import { fastProbes, startGateway } from '../support/gateway.ts'
import { freePort } from '../support/ports.ts'

const ROOT = resolve(import.meta.dir, '../..')
/** Instructions with their continuation lines joined, comments dropped. */
const INSTRUCTIONS = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith('#'))

function instructions(keyword: string): string[] {
  return INSTRUCTIONS.filter((line) => line.startsWith(`${keyword} `)).map((line) => line.slice(keyword.length + 1).trim())
}

/** The exec-form command after `CMD` in `HEALTHCHECK [options] CMD [...]`. */
function healthcheckCommand(): string[] {
  const [healthcheck] = instructions('HEALTHCHECK')
  const exec = healthcheck?.match(/\bCMD\s+(\[.*\])$/)?.[1]
  if (!exec) throw new Error(`expected HEALTHCHECK ... CMD ["bun", ...] in exec form, got: ${healthcheck}`)
  return JSON.parse(exec) as string[]
}

async function runHealthcheck(port: number): Promise<number> {
  const [program, ...args] = healthcheckCommand()
  expect(program).toBe('bun')
  const proc = Bun.spawn([process.execPath, ...args], { env: { ...process.env, PORT: String(port) }, stdout: 'ignore', stderr: 'ignore' })
  return proc.exited
}

describe('Dockerfile', () => {
  test('the HEALTHCHECK command exits 0 while the gateway is live and 1 when nothing listens on $PORT', async () => {
    await using sim = startSimulator({ instant: true })
    await using gw = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], plugins: fastProbes })
    expect(await runHealthcheck(Number(new URL(gw.url).port))).toBe(0)
    expect(await runHealthcheck(freePort())).toBe(1)
  })

  test('copies what the gateway runs from, as a non-root user listening on 0.0.0.0 with state on a volume', () => {
    const stages = instructions('FROM')
    expect(stages).toEqual(['oven/bun:${BUN_VERSION} AS build', 'oven/bun:${BUN_VERSION}-slim AS runtime'])
    const fromContext = instructions('COPY').filter((c) => !c.startsWith('--from='))
    const sources = fromContext.flatMap((c) => c.split(/\s+/).slice(0, -1))
    expect(sources.filter((s) => !existsSync(join(ROOT, s)))).toEqual([])
    expect(sources).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'src', 'plugins']))
    const env = instructions('ENV').join(' ')
    expect(env).toContain('SWITCHYARD_STATE_DIR=/var/lib/switchyard')
    expect(env).toContain('SWITCHYARD_CONFIG=/etc/switchyard/switchyard.config.json')
    expect(instructions('VOLUME')).toEqual(['["/var/lib/switchyard"]'])
    expect(instructions('USER')).toEqual(['switchyard'])
    expect(JSON.parse(instructions('ENTRYPOINT')[0]!)).toEqual(['bun', 'src/main.ts'])
    expect(JSON.parse(instructions('CMD')[0]!)).toEqual(['--host', '0.0.0.0'])
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n')
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', '.git', 'test-output', '*.db']))
  })
})
