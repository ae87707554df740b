import { describe, expect, test } from 'bun:test'
import { SQL } from 'bun'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import * as v from 'valibot'
import { builtinPlugins } from '../../plugins/index.ts'
import postgresHistory from '../../plugins/postgres-history/index.ts'
import { startSimulator } from '../../src/sim/server.ts'
import { type DecisionRecord, type Hooks, type HistoryState, type StateBackend, keepNothing } from 'switchyard/plugin'
import { fastProbes, startGateway } from '../support/gateway.ts'
import { startPostgres } from '../support/postgres.ts'
import { until } from '../support/until.ts'

const ROOT = resolve(import.meta.dir, '../..')
const quiet = { debug() {}, info() {}, warn() {}, error() {} }

type History = Hooks['history'] & {
  state(): HistoryState
  flush(): Promise<void>
  stateBackend(): StateBackend
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

/** One "gateway instance": the plugin set up from its definition, as the loader does. */
async function openHistory(url: string, options: Record<string, unknown> = {}): Promise<History> {
  const instance = await postgresHistory.setup({
    name: 'postgres-history', options: v.parse(postgresHistory.options, { url, flushMs: 5, ...options }),
    signal: new AbortController().signal, log: quiet, gateway: { backends: [] }, baseDir: ROOT, keep: keepNothing,
  })
  const close = instance.close!.bind(instance)
  return { ...(instance as History), close: async () => close(), [Symbol.asyncDispose]: async () => close() }
}

const decision = (id: string, extra: Partial<DecisionRecord> = {}): DecisionRecord => ({
  id, timeMs: Date.now(), protocol: 'openai', operation: 'chat', requested: 'auto', route: 'auto', label: 'MODERATE',
  confidence: 0.7, classifier: 'learned-classifier', status: 200, latencyMs: 42.5, promptHash: `hash-${id}`, ...extra,
})

/** The database as an operator sees it. */
async function rowsIn(url: string): Promise<{ n: number; distinct: number }> {
  await using db = new SQL(url, { max: 1 })
  const [row] = await db<{ n: number; distinct: number }[]>`SELECT count(*)::int AS n, count(DISTINCT id)::int AS distinct FROM switchyard_decisions`
  return row!
}

describe('postgres-history', () => {
  test('the options name the database once: url or urlEnv, and urlEnv must be set', async () => {
    const parse = (o: Record<string, unknown>) => v.safeParse(postgresHistory.options, o)
    expect(parse({ url: 'postgres://db/switchyard' }).success).toBe(true)
    expect(parse({ urlEnv: 'SWITCHYARD_TEST_PG_URL' }).success).toBe(true)
    expect(parse({}).success).toBe(false)
    expect(parse({ url: 'postgres://db/switchyard', urlEnv: 'SWITCHYARD_TEST_PG_URL' }).success).toBe(false)
    expect(parse({ url: 'mysql://db/switchyard' }).success).toBe(false)
    expect(parse({ url: 'postgres://db/x', table: 'Robert"; DROP TABLE' }).success).toBe(false)
    expect(parse({ url: 'postgres://db/x', extra: 1 }).success).toBe(false)
    delete process.env.SWITCHYARD_TEST_PG_URL_UNSET
    await expect(openHistory('', { url: undefined, urlEnv: 'SWITCHYARD_TEST_PG_URL_UNSET' })).rejects.toThrow('SWITCHYARD_TEST_PG_URL_UNSET')
  })

  test('a decision round-trips through record, get, list, label, labelled and findPrevious, features included', async () => {
    await using pg = await startPostgres()
    await using h = await openHistory(pg.url)
    const features = { index: new Int32Array([3, 17, 4_096]), value: new Float32Array([0.5, 0.25, 1]), dense: new Float32Array([12, 0.5]) }
    h.record(decision('r1', { client: 'ci', team: 'infra', features, ttftMs: 8, inputTokens: 120, outputTokens: 30 }))
    h.record(decision('r2', { route: 'other', label: 'SIMPLE', timeMs: Date.now() + 1 }))
    // Queued, not yet written: still found.
    expect((await h.get('r1'))?.id).toBe('r1')
    await h.flush()

    const got = await h.get('r1')
    expect(got).toMatchObject({ id: 'r1', client: 'ci', team: 'infra', route: 'auto', label: 'MODERATE', status: 200, latencyMs: 42.5, ttftMs: 8, inputTokens: 120, outputTokens: 30, feedback: null })
    expect(Array.from(got!.features!.index)).toEqual([3, 17, 4_096])
    expect(Array.from(got!.features!.value)).toEqual([0.5, 0.25, 1])
    expect(Array.from(got!.features!.dense)).toEqual([12, 0.5])
    expect(got!.prompt).toBeUndefined()
    expect(await h.get('missing')).toBeUndefined()

    expect((await h.list({ limit: 10 })).map((d) => d.id)).toEqual(['r2', 'r1'])
    expect((await h.list({ limit: 10, route: 'auto' })).map((d) => d.id)).toEqual(['r1'])
    expect((await h.list({ limit: 10, label: 'SIMPLE' })).map((d) => d.id)).toEqual(['r2'])
    expect((await h.list({ limit: 10, client: 'ci', team: 'infra' })).map((d) => d.id)).toEqual(['r1'])
    expect(await h.list({ limit: 10, sinceMs: Date.now() + 60_000 })).toEqual([])
    expect(await h.list({ limit: 1 })).toHaveLength(1)

    expect(await h.label('r1', 'COMPLEX', 'feedback')).toBe(true)
    expect(await h.label('missing', 'COMPLEX', 'feedback')).toBe(false)
    const [labelled] = await h.labelled()
    expect(labelled).toMatchObject({ id: 'r1', correct: 'COMPLEX', source: 'feedback', label: 'MODERATE' })
    expect(labelled!.labelledAtMs).toBeNumber()
    expect(Array.from(labelled!.features!.index)).toEqual([3, 17, 4_096])
    expect(await h.get('r1')).toMatchObject({ feedback: { label: 'COMPLEX', source: 'feedback' } })

    expect((await h.findPrevious!('ci', 'hash-r1', 0))?.id).toBe('r1')
    expect(await h.findPrevious!('someone-else', 'hash-r1', 0)).toBeUndefined()
    expect((await h.findPrevious!(undefined as unknown as string, 'hash-r2', 0))?.id).toBe('r2')
    expect(await h.findPrevious!('ci', 'hash-r1', Date.now() + 60_000)).toBeUndefined()
  })

  test('an inferred label never replaces an explicit one; an explicit one replaces any; a forced class is its own label', async () => {
    await using pg = await startPostgres()
    await using h = await openHistory(pg.url, { storePrompts: true })
    h.record(decision('a'))
    h.record(decision('b'))
    h.record(decision('forced', { forced: true, label: 'COMPLEX', prompt: 'kept because storePrompts is on' }))
    const sourceOf = async (id: string) => (await h.labelled()).find((d) => d.id === id)

    expect(await h.label('a', 'SIMPLE', 'retry')).toBe(true)
    expect(await h.label('a', 'COMPLEX', 'escalation')).toBe(true)
    expect(await sourceOf('a')).toMatchObject({ correct: 'COMPLEX', source: 'escalation' })
    expect(await h.label('a', 'SIMPLE', 'verdict')).toBe(true)
    // Found, but the explicit label stays.
    expect(await h.label('a', 'COMPLEX', 'retry')).toBe(true)
    expect(await sourceOf('a')).toMatchObject({ correct: 'SIMPLE', source: 'verdict' })
    expect(await h.label('a', 'MODERATE', 'feedback')).toBe(true)
    expect(await sourceOf('a')).toMatchObject({ correct: 'MODERATE', source: 'feedback' })

    expect(await sourceOf('forced')).toMatchObject({ correct: 'COMPLEX', source: 'forced', forced: true, prompt: 'kept because storePrompts is on' })
    expect(await h.label('forced', 'SIMPLE', 'escalation')).toBe(true)
    expect(await sourceOf('forced')).toMatchObject({ correct: 'COMPLEX', source: 'forced' })
    expect(await sourceOf('b')).toBeUndefined()
  })

  test('two instances share one history: B lists what A recorded, A retrains on what B labelled, 2,000 concurrent records are 2,000 rows', async () => {
    await using pg = await startPostgres()
    await using a = await openHistory(pg.url)
    await using b = await openHistory(pg.url)
    a.record(decision('from-a', { client: 'alice' }))
    await a.flush()
    expect((await b.list({ limit: 10 })).map((d) => d.id)).toEqual(['from-a'])
    expect(await b.findPrevious!('alice', 'hash-from-a', 0)).toMatchObject({ id: 'from-a' })

    expect(await b.label('from-a', 'COMPLEX', 'feedback')).toBe(true)
    expect((await a.labelled()).map((d) => [d.id, d.correct, d.source])).toEqual([['from-a', 'COMPLEX', 'feedback']])

    // Overlapping ids on purpose: a batch retried after a lost answer arrives twice, and must count once.
    for (let i = 0; i < 2_000; i++) {
      if (i < 1_200) a.record(decision(`c-${i}`))
      if (i >= 800) b.record(decision(`c-${i}`))
    }
    await Promise.all([a.flush(), b.flush()])
    expect(await rowsIn(pg.url)).toEqual({ n: 2_001, distinct: 2_001 })
    expect(a.state()).toMatchObject({ mode: 'shared', failing: false, pending: 0, dropped: 0 })
    expect(b.state()).toMatchObject({ mode: 'shared', failing: false, pending: 0, dropped: 0 })
  }, 15_000)

  test('with Postgres down, record keeps going and the state says local; after a restart the backlog drains', async () => {
    await using pg = await startPostgres()
    await using h = await openHistory(pg.url, { maxPending: 1_000, timeoutMs: 1_000 })
    h.record(decision('before'))
    await h.flush()
    expect(h.state()).toMatchObject({ mode: 'shared', failing: false })

    pg.kill()
    h.record(decision('down-first'))
    await until(() => h.state().failing, 3_000, 'the first failed write')
    for (let i = 0; i < 1_500; i++) h.record(decision(`down-${i}`))
    // At most maxPending kept; the oldest went first.
    expect(h.state()).toEqual({ mode: 'local', failing: true, pending: 1_000, dropped: 501 })
    expect((await h.get('down-1499'))?.id).toBe('down-1499')
    expect(h.stateBackend()).toMatchObject({ component: 'history', mode: 'local' })
    expect(h.stateBackend().detail).toBeString()
    // An instance starting while Postgres is away starts anyway, queues, and subscribes once it can.
    await using late = await openHistory(pg.url, { timeoutMs: 1_000 })
    expect(late.state()).toMatchObject({ mode: 'local', failing: true })
    late.record(decision('late'))
    const adopted: string[][] = []
    late.subscribeVersions!((...v) => adopted.push(v))

    await pg.restart()
    await until(() => h.state().pending === 0 && late.state().pending === 0, 8_000, 'the backlogs to drain')
    expect(h.state()).toEqual({ mode: 'shared', failing: false, pending: 0, dropped: 501 })
    expect(late.state()).toEqual({ mode: 'shared', failing: false, pending: 0, dropped: 0 })
    expect(await rowsIn(pg.url)).toEqual({ n: 1_002, distinct: 1_002 })
    await h.publishVersion!('learned-classifier', 'v9', 'weights')
    await until(() => adopted.length === 1, 8_000, 'the version at the late instance')
    expect(await h.get('down-0')).toBeUndefined()
    expect((await h.get('down-500'))?.id).toBe('down-500')
    expect((await h.get('down-1499'))?.id).toBe('down-1499')
  }, 15_000)

  test('retention removes decisions past maxAgeDays and beyond maxRows, and keeps labelled ones', async () => {
    await using pg = await startPostgres()
    const limits = { maxAgeDays: 1, maxRows: 50 }
    {
      await using a = await openHistory(pg.url, limits)
      for (let i = 0; i < 30; i++) a.record(decision(`old-${i}`, { timeMs: Date.now() - 2 * 86_400_000 }))
      for (let i = 0; i < 100; i++) a.record(decision(`new-${i}`))
      await a.label('old-0', 'SIMPLE', 'feedback')
      await a.label('old-1', 'SIMPLE', 'retry')
    }
    // An instance applies retention when it starts (and after every 1,000 rows it writes).
    await using b = await openHistory(pg.url, limits)
    await until(async () => (await rowsIn(pg.url)).n === 52, 3_000, 'retention')
    expect((await b.labelled()).map((d) => d.id).toSorted()).toEqual(['old-0', 'old-1'])
    expect(await b.get('old-2')).toBeUndefined()
    expect(await b.get('new-49')).toBeUndefined()
    expect((await b.get('new-50'))?.id).toBe('new-50')
  })

  test('a version published by one instance reaches the others, not itself; a new instance starts from the latest', async () => {
    await using pg = await startPostgres()
    await using a = await openHistory(pg.url)
    await using b = await openHistory(pg.url)
    const seenA: string[][] = []
    const seenB: string[][] = []
    a.subscribeVersions!((...v) => seenA.push(v))
    b.subscribeVersions!((...v) => seenB.push(v))

    await a.publishVersion!('learned-classifier', 'v1', '{"weights":[1]}')
    await until(() => seenB.length === 1, 3_000, 'v1 at B')
    expect(seenB[0]).toEqual(['learned-classifier', 'v1', '{"weights":[1]}'])
    await b.publishVersion!('learned-classifier', 'v2', '{"weights":[2]}')
    await until(() => seenA.length === 1, 3_000, 'v2 at A')
    expect(seenA[0]).toEqual(['learned-classifier', 'v2', '{"weights":[2]}'])
    await a.publishVersion!('other-classifier', 'x1', 'x')
    await until(() => seenB.length === 2, 3_000, 'x1 at B')
    // Announcements arrive in order: had B been handed its own v2, it would sit before x1.
    expect(seenB.map(([, version]) => version)).toEqual(['v1', 'x1'])
    expect(seenA.map(([, version]) => version)).toEqual(['v2'])

    await using c = await openHistory(pg.url)
    const seenC: string[][] = []
    c.subscribeVersions!((...v) => seenC.push(v))
    await until(() => seenC.length === 2, 3_000, 'the latest versions at C')
    expect(seenC.toSorted()).toEqual([['learned-classifier', 'v2', '{"weights":[2]}'], ['other-classifier', 'x1', 'x']])

    // A rollback publishes an older version again: it is the newest everywhere.
    await a.publishVersion!('learned-classifier', 'v1', '{"weights":[1]}')
    await until(() => seenB.length === 3 && seenC.length === 3, 3_000, 'the rollback at B and C')
    expect(seenB[2]).toEqual(['learned-classifier', 'v1', '{"weights":[1]}'])
    expect(seenC[2]).toEqual(['learned-classifier', 'v1', '{"weights":[1]}'])
    expect(seenA).toHaveLength(1)
  })

  test('a request through a live gateway is in Postgres under its x-switchyard-request-id, and /health says the history is shared', async () => {
    await using pg = await startPostgres()
    await using sim = startSimulator({ instant: true })
    const stateDir = mkdtempSync(join(tmpdir(), 'switchyard-pg-gateway-'))
    // By name once the registry lists it; until then the loader takes the same definition by path.
    const use = builtinPlugins.has('postgres-history') ? 'postgres-history' : resolve(ROOT, 'plugins/postgres-history/index.ts')
    try {
      await using gw = await startGateway({
        stateDir, backends: [{ name: 'sim', kind: 'ollama', url: sim.url }],
        plugins: [{ use, options: { url: pg.url, flushMs: 5 } }, ...fastProbes],
      })
      const res = await fetch(`${gw.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'qwen2.5-coder:7b', stream: false, messages: [{ role: 'user', content: 'hi' }] }) })
      expect(res.status).toBe(200)
      await res.text()
      const id = res.headers.get('x-switchyard-request-id')!
      await using db = new SQL(pg.url, { max: 1 })
      await until(async () => (await db`SELECT id FROM switchyard_decisions WHERE id = ${id}`).length === 1, 3_000, 'the row in postgres')
      const [row] = await db<{ requested: string; backend: string; status: number }[]>`SELECT requested, backend, status FROM switchyard_decisions WHERE id = ${id}`
      expect(row).toEqual({ requested: 'qwen2.5-coder:7b', backend: 'sim', status: 200 })
      const health = (await (await fetch(`${gw.url}/health`)).json()) as { state: { component: string; mode: string }[]; history: { name: string; mode: string }[] }
      expect(health.state).toContainEqual({ component: 'history', mode: 'shared' })
      expect(health.history[0]).toMatchObject({ mode: 'shared', failing: false })
    } finally {
      rmSync(stateDir, { recursive: true, force: true })
    }
  }, 15_000)
})
