/** deploy/compose.yaml: valid for Debian's docker-compose, its mounts exist, and the config it mounts runs the real CLI. */
import { describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parse } from 'yaml'
import { startGatewayProcess } from '../support/process.ts'
import { checkGatewayConfig } from './gateway-config.ts'

const ROOT = resolve(import.meta.dir, '../..')
const DEPLOY = join(ROOT, 'deploy')
const COMPOSE = join(DEPLOY, 'compose.yaml')
const CONFIG = join(DEPLOY, 'switchyard.config.json')
const API_KEY = 'compose-test-key-0123456789'

const dockerCompose = Bun.which('docker-compose')
if (!dockerCompose) {
  console.warn('SKIPPED deploy/compose.yaml validation: docker-compose not found on PATH; install the Debian package "docker-compose" (apt-get install -y docker-compose; scripts/ensure-test-deps.sh does)')
}

interface ComposeService {
  image?: string
  environment?: Record<string, string>
  volumes?: (string | { type?: string; source?: string })[]
  profiles?: string[]
  extra_hosts?: string[]
  depends_on?: string[] | Record<string, unknown>
  deploy?: { resources?: { reservations?: { devices?: unknown[] } } }
}
interface ComposeFile {
  services: Record<string, ComposeService>
}

/** Run docker-compose on the file with only PATH and HOME from this process, so a developer's env cannot leak in. */
async function compose(args: readonly string[], env: Record<string, string> = {}) {
  const proc = Bun.spawn([dockerCompose!, '-f', COMPOSE, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  return { code, stdout, stderr }
}

describe.skipIf(!dockerCompose)('deploy/compose.yaml with docker-compose', () => {
  test('is valid with and without the gpu profile', async () => {
    const quiet = await compose(['config', '-q'], { SWITCHYARD_API_KEY: API_KEY })
    expect(quiet.stderr).toBe('')
    expect(quiet.code).toBe(0)
    const gpu = await compose(['--profile', 'gpu', 'config'], { SWITCHYARD_API_KEY: API_KEY })
    expect(gpu.code).toBe(0)
    const ollama = (parse(gpu.stdout) as ComposeFile).services.ollama
    expect(ollama?.profiles).toEqual(['gpu'])
    expect(ollama?.deploy?.resources?.reservations?.devices).toEqual([{ driver: 'nvidia', count: 'all', capabilities: ['gpu'] }])
  })

  test('refuses to run the gateway without SWITCHYARD_API_KEY, since it listens beyond loopback', async () => {
    const result = await compose(['config', '-q'])
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain('set SWITCHYARD_API_KEY')
  })

  test('every file a service mounts from the repository exists', async () => {
    const result = await compose(['config'], { SWITCHYARD_API_KEY: API_KEY })
    expect(result.code).toBe(0)
    const { services } = parse(result.stdout) as ComposeFile
    const sources = Object.values(services).flatMap((s) =>
      (s.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':')[0]! : v.type === 'bind' ? v.source ?? '' : '')),
    )
    const binds = sources.filter((s) => s.startsWith('/'))
    expect(binds.length).toBeGreaterThanOrEqual(5)
    expect(binds.filter((s) => !existsSync(s))).toEqual([])
  })
})

describe('deploy/switchyard.config.json', () => {
  const composeFile = parse(readFileSync(COMPOSE, 'utf8')) as ComposeFile
  const gateway = composeFile.services.switchyard!

  test('loads as the gateway loads it, keys from the env compose sets, state and telemetry on the compose services', async () => {
    const { config, plugins } = await checkGatewayConfig(JSON.parse(readFileSync(CONFIG, 'utf8')), CONFIG, DEPLOY)
    const env = gateway.environment ?? {}
    expect(config.auth.keys.length).toBeGreaterThan(0)
    for (const key of config.auth.keys) expect(Object.keys(env)).toContain(key.keyEnv!)
    expect(env.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://jaeger:4318')
    expect(env.SWITCHYARD_STATE_DIR).toBe('/var/lib/switchyard')
    expect(plugins).toEqual(expect.arrayContaining(['otel', 'prometheus', 'redis-cache', 'ollama-probe', 'nvidia-smi-probe', 'postgres-history']))
    // The shared history reaches the compose Postgres with the password compose gives it.
    expect(new URL(String(env.SWITCHYARD_DATABASE_URL).replace('${POSTGRES_PASSWORD:-switchyard-local}', 'x')).hostname).toBe('postgres')
    expect(JSON.stringify(composeFile.services.switchyard!.depends_on)).toContain('"postgres"')
    // Backends: the gpu profile's Ollama by service name, and the host's through host.docker.internal.
    const hosts = config.backends.map((b) => new URL(b.url).hostname)
    expect(hosts).toEqual(['ollama', 'host.docker.internal'])
    expect(Object.keys(composeFile.services)).toContain('ollama')
    expect(gateway.extra_hosts).toContain('host.docker.internal:host-gateway')
    expect(new URL(config.auth.redis!.url).hostname).toBe('redis')
    // Prometheus scrapes the service by its compose name and the port the image listens on.
    expect(readFileSync(join(DEPLOY, 'prometheus/prometheus.yml'), 'utf8')).toContain('"switchyard:3333"')
  })

  test('runs the real gateway CLI: API keys required; with Redis and Postgres unreachable it serves and says so', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'switchyard-deploy-state-'))
    // The compose hostnames do not resolve here: backends, Redis and Postgres are reported down, the gateway still serves.
    await using gw = await startGatewayProcess(CONFIG, {
      SWITCHYARD_API_KEY: API_KEY, SWITCHYARD_STATE_DIR: stateDir, OTEL_EXPORTER_OTLP_ENDPOINT: '',
      SWITCHYARD_DATABASE_URL: 'postgres://switchyard:x@postgres:5432/switchyard',
    })
    expect((await fetch(`${gw.url}/health/live`)).status).toBe(200)
    const chat = { model: 'auto', messages: [{ role: 'user', content: 'hi' }] }
    const anonymous = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify(chat) })
    expect(anonymous.status).toBe(401)
    expect((await anonymous.json()).error.code).toBe('unauthorized')
    const keyed = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${API_KEY}` } })
    expect(keyed.status).toBe(200)
    const health = (await fetch(`${gw.url}/health`).then((r) => r.json())) as { state: { component: string; mode: string }[] }
    expect(Object.fromEntries(health.state.map((s) => [s.component, s.mode]))).toEqual({ ratelimit: 'local', cache: 'local', history: 'local' })
  })
})
