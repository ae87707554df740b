/**
 * Three gateway processes behind no load balancer but the test's own round robin, one redis-server and one
 * PostgreSQL: they behave as one service (cache, limits, token budgets, history, feedback, promotions), and each
 * degrades as documented while Redis or Postgres is away, then recovers.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { SQL } from 'bun'
import { startSimulator, type SimHandle } from '../../src/sim/server.ts'
import { type GatewayProcess, startGatewayProcess } from '../support/process.ts'
import { type TestPostgres, startPostgres } from '../support/postgres.ts'
import { type TestRedis, startRedis } from '../support/redis.ts'
import { until } from '../support/until.ts'

const ROOT = resolve(import.meta.dir, '../..')
const ADMIN = { authorization: 'Bearer admin-key-123' }
const RPM = 50
const TPM = 3_000
const RESERVE = 64

let sim: SimHandle
let redis: TestRedis
let pg: TestPostgres
let gateways: GatewayProcess[] = []
let db: SQL

beforeAll(async () => {
  sim = startSimulator({ instant: true })
  redis = await startRedis()
  pg = await startPostgres()
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-scale-'))
  const config = join(dir, 'switchyard.config.json')
  writeFileSync(config, JSON.stringify({
    auth: {
      adminKey: 'admin-key-123', redis: { url: redis.url },
      keys: [
        { name: 'rpm', key: 'rpm-key-12345', requestsPerMinute: RPM },
        { name: 'tpm', key: 'tpm-key-12345', tokensPerMinute: TPM, reserveTokens: RESERVE },
        { name: 'free', key: 'free-key-12345' },
      ],
    },
    backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }],
    routes: { auto: { SIMPLE: ['qwen2.5-coder:1.5b'], MODERATE: ['qwen2.5-coder:7b'], COMPLEX: ['deepseek-coder:33b'] } },
    plugins: [
      { use: 'learned-classifier' }, { use: 'tiered-selector' }, { use: 'ollama-probe', options: { intervalMs: 500 } },
      { use: 'redis-cache', options: { url: redis.url } }, { use: 'postgres-history', options: { url: pg.url, flushMs: 50 } }, { use: 'prometheus' },
    ],
  }))
  // Each instance keeps its own state folder, as pods do: promotions travel through Postgres, not a shared disk.
  gateways = await Promise.all(['a', 'b', 'c'].map((name) => startGatewayProcess(config, { SWITCHYARD_STATE_DIR: mkdtempSync(join(tmpdir(), `switchyard-scale-${name}-`)) })))
  db = new SQL(pg.url)
  for (const gw of gateways) await until(async () => (await fetch(`${gw.url}/health`, { headers: ADMIN })).ok, 10_000, 'each instance healthy')
}, 60_000)

afterAll(async () => {
  await db?.close()
  for (const gw of gateways) await gw[Symbol.asyncDispose]()
  await redis?.close()
  await pg?.stop()
  await sim?.close()
})

const ask = (gw: GatewayProcess, key: string, content: string, extra: Record<string, unknown> = {}) =>
  fetch(`${gw.url}/api/chat`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ model: 'auto', stream: false, messages: [{ role: 'user', content }], ...extra }) })

const rows = async () => Number((await db`SELECT count(*)::int AS n FROM switchyard_decisions`)[0].n)

async function metric(gw: GatewayProcess, series: string): Promise<number | undefined> {
  const text = await fetch(`${gw.url}/metrics`, { headers: ADMIN }).then((r) => r.text())
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('three instances, one service', () => {
  test('a cache entry stored through one instance is a hit through another', async () => {
    const [a, b] = gateways as [GatewayProcess, GatewayProcess]
    const first = await ask(a, 'free-key-12345', 'what is a closure?', { options: { temperature: 0 } })
    expect(first.headers.get('x-switchyard-cache')).toBe('miss')
    await first.text()
    const second = await ask(b, 'free-key-12345', 'what is a closure?', { options: { temperature: 0 } })
    expect(second.headers.get('x-switchyard-cache')).toBe('hit')
    await second.text()
    // Both decisions are in the shared history (the hit too).
    await until(async () => (await rows()) === 2, 5_000, 'two decisions written')
  })

  test('200 concurrent requests over the three overshoot a requests-per-minute limit by 0, a token budget by at most one reservation; each is one history row', async () => {
    const before = await rows()
    const started = Date.now()
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => ask(gateways[i % 3]!, 'rpm-key-12345', `rpm ${i}`).then(async (r) => (await r.text(), r.status))))
    const elapsedS = (Date.now() - started) / 1000
    const ok = answers.filter((s) => s === 200).length
    expect(answers.every((s) => s === 200 || s === 429)).toBe(true)
    // The bucket refills continuously: RPM now, plus what refilled while the burst lasted.
    expect(ok).toBeGreaterThanOrEqual(RPM)
    expect(ok).toBeLessThanOrEqual(RPM + Math.floor((elapsedS * RPM) / 60))

    const used: number[] = []
    const tpmStarted = Date.now()
    await Promise.all(Array.from({ length: 100 }, async (_, i) => {
      const res = await ask(gateways[i % 3]!, 'tpm-key-12345', `tokens ${i}`)
      const body = (await res.json()) as { prompt_eval_count?: number; eval_count?: number }
      if (res.status === 200) used.push((body.prompt_eval_count ?? 0) + (body.eval_count ?? 0))
    }))
    const spent = used.reduce((a, b) => a + b, 0)
    const reservation = Math.max(...used, 0) + RESERVE
    expect(used.length).toBeGreaterThan(0)
    expect(spent).toBeLessThanOrEqual(TPM + reservation + ((Date.now() - tpmStarted) / 60_000) * TPM)

    // Every request, refused ones included, is one row: no duplicates, nothing lost.
    await until(async () => (await rows()) === before + 300, 10_000, 'all 300 decisions written')
    expect(await rows()).toBe(before + 300)
  }, 60_000)

  test('feedback through one instance finds a request another served; a retrain promoted on one is in use on all', async () => {
    const [a, b, c] = gateways as [GatewayProcess, GatewayProcess, GatewayProcess]
    const data = (await Bun.file(join(ROOT, 'data/routing-dev.jsonl')).text()).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { prompt: string; source: string })
    const family = data.filter((r) => r.source === 'mbpp-plus').slice(0, 40)
    for (const [i, row] of family.entries()) {
      const served = gateways[i % 3]!
      const res = await ask(served, 'free-key-12345', row.prompt)
      const id = res.headers.get('x-switchyard-request-id')!
      await res.text()
      const giver = gateways[(i + 1) % 3]!
      await until(async () => (await db`SELECT 1 FROM switchyard_decisions WHERE id = ${id}`).length === 1, 5_000, 'the decision written')
      const fb = await fetch(`${giver.url}/router/feedback`, { method: 'POST', headers: { ...ADMIN, 'content-type': 'application/json' }, body: JSON.stringify({ requestId: id, label: 'SIMPLE' }) })
      expect(fb.status).toBe(200)
    }
    const retrain = (await fetch(`${b.url}/router/retrain`, { method: 'POST', headers: ADMIN }).then((r) => r.json())) as { promoted: boolean; version: string }
    expect(retrain.promoted).toBe(true)
    const versionOf = async (gw: GatewayProcess) => ((await fetch(`${gw.url}/health`, { headers: ADMIN }).then((r) => r.json())) as { classifier: { version: string } }).classifier.version
    await until(async () => (await versionOf(a)) === retrain.version && (await versionOf(c)) === retrain.version, 10_000, 'the promotion in use on a and c')
  }, 90_000)

  test('Redis away: limits and cache go local (metric), requests still answered; back: shared again', async () => {
    const [a] = gateways as [GatewayProcess]
    await redis.kill()
    expect((await ask(a, 'free-key-12345', 'redis is away')).status).toBe(200)
    await until(async () => (await metric(a, 'switchyard_state_backend{component="ratelimit",mode="local"}')) === 1, 10_000, 'rate limits local')
    expect(await metric(a, 'switchyard_state_backend{component="cache",mode="local"}')).toBe(1)
    redis = await startRedis({ port: redis.port })
    await until(async () => (await metric(a, 'switchyard_state_backend{component="ratelimit",mode="shared"}')) === 1, 15_000, 'rate limits shared again')
  }, 40_000)

  test('Postgres away: the history keeps a backlog (metric), requests still answered; back: the backlog drains', async () => {
    const [a, b] = gateways as [GatewayProcess, GatewayProcess]
    const before = await rows()
    pg.kill()
    for (let i = 0; i < 6; i++) expect((await ask(gateways[i % 2]!, 'free-key-12345', `postgres is away ${i}`)).status).toBe(200)
    await until(async () => (await metric(a, 'switchyard_state_backend{component="history",mode="local"}')) === 1, 10_000, 'history local')
    expect(await metric(a, 'switchyard_history_backlog{store="postgres-history"}')).toBeGreaterThan(0)
    await pg.restart()
    await until(async () => (await metric(a, 'switchyard_history_backlog{store="postgres-history"}')) === 0 && (await metric(b, 'switchyard_history_backlog{store="postgres-history"}')) === 0, 20_000, 'the backlogs drained')
    await db.close()
    db = new SQL(pg.url)
    expect(await rows()).toBe(before + 6)
    expect(await metric(a, 'switchyard_state_backend{component="history",mode="shared"}')).toBe(1)
  }, 60_000)
})
