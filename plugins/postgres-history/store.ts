/** The decision history in Postgres, shared by every gateway instance: reads, labels and retention over the writer's rows. */
import { randomUUID } from 'node:crypto'
import { TASK_CLASSES, messageOf } from 'switchyard/plugin'
import type { DecisionRecord, HistoryQuery, HistoryState, LabelledDecision, LabelSource, Logger, StateBackend, TaskClass } from 'switchyard/plugin'
import { createPgClient, isMissingTable } from './client.ts'
import { EXPLICIT_SOURCES, type LabelledRow, type Row, fromRow, isExplicit, withFeedback } from './rows.ts'
import { createSchema, tableNames } from './schema.ts'
import { createVersionSharing } from './versions.ts'
import { createWriter } from './writer.ts'

export interface PostgresHistoryOptions {
  readonly url: string
  readonly table: string
  readonly maxRows: number
  readonly maxAgeDays: number
  readonly storePrompts: boolean
  readonly flushMs: number
  readonly maxPending: number
  readonly timeoutMs: number
  readonly log: Logger
}

type Feedback = { feedback: { label: TaskClass; source: LabelSource } | null }

export interface PostgresHistory {
  record(decision: DecisionRecord): void
  flush(): Promise<void>
  label(requestId: string, label: TaskClass, source: LabelSource): Promise<boolean>
  get(requestId: string): Promise<(DecisionRecord & Feedback) | undefined>
  list(query: HistoryQuery): Promise<(DecisionRecord & Feedback)[]>
  labelled(): Promise<LabelledDecision[]>
  findPrevious(client: string | undefined, promptHash: string, sinceMs: number): Promise<DecisionRecord | undefined>
  publishVersion(classifier: string, version: string, payload: string): Promise<void>
  subscribeVersions(onVersion: (classifier: string, version: string, payload: string) => void): void
  state(): HistoryState
  stateBackend(): StateBackend
  close(): Promise<void>
}

const DAY_MS = 86_400_000
/** Retention deletes at most this many rows per statement, so no step holds locks (or Postgres) for long. */
const PRUNE_STEP = 2_000
/** Retention runs at start and again after this many rows written by this instance. */
const PRUNE_EVERY_ROWS = 1_000

/** Connects (bounded by `timeoutMs`) and creates the tables; Postgres being away is not fatal: decisions queue. */
export async function openPostgresHistory(o: PostgresHistoryOptions): Promise<PostgresHistory> {
  const { log } = o
  const client = createPgClient(o.url, o.timeoutMs)
  const { sql } = client
  const t = tableNames(o.table)
  const schema = createSchema(client, t, o.table)
  let reachable = true
  let lastError: string | undefined
  let closed = false
  const outcome = (error?: unknown) => {
    reachable = error === undefined
    lastError = error === undefined ? undefined : messageOf(error)
  }

  let sinceRetention = 0
  let pruning = false
  const pruneStep = async (): Promise<number> => {
    const unlabelled = sql`NOT EXISTS (SELECT 1 FROM ${sql(t.labels)} l WHERE l.request_id = d.id)`
    const old = await client.timed(sql`
      DELETE FROM ${sql(t.decisions)} WHERE id IN (
        SELECT d.id FROM ${sql(t.decisions)} d WHERE d.time_ms < ${Date.now() - o.maxAgeDays * DAY_MS}::bigint AND ${unlabelled}
        ORDER BY d.time_ms LIMIT ${PRUNE_STEP} FOR UPDATE SKIP LOCKED)`)
    // By arrival order (seq): instances' clocks differ, and a count(*) scans the whole table.
    const over = await client.timed(sql`
      DELETE FROM ${sql(t.decisions)} WHERE id IN (
        SELECT d.id FROM ${sql(t.decisions)} d WHERE d.seq <= (SELECT max(seq) FROM ${sql(t.decisions)}) - ${o.maxRows}::bigint AND ${unlabelled}
        ORDER BY d.seq LIMIT ${PRUNE_STEP} FOR UPDATE SKIP LOCKED)`)
    return old.count + over.count
  }
  /** Labelled decisions are kept: they are what a retrain learns from. Several instances prune without waiting on each other. */
  const prune = () => {
    if (pruning || closed) return
    pruning = true
    sinceRetention = 0
    void (async () => {
      try {
        while (!closed && (await pruneStep()) >= PRUNE_STEP);
      } catch (error) {
        // A step cut off by close() is rolled back; the next start applies retention again.
        if (!closed) log.warn('decision history retention step failed', { error: messageOf(error) })
      } finally {
        pruning = false
      }
    })()
  }

  const writer = createWriter(client, t, {
    flushMs: o.flushMs, maxPending: o.maxPending, storePrompts: o.storePrompts, log, schema, onOutcome: outcome,
    onWritten: (rows) => {
      sinceRetention += rows
      if (sinceRetention >= PRUNE_EVERY_ROWS) prune()
    },
  })
  const versions = createVersionSharing(client, t, schema, randomUUID(), log)

  try {
    await schema.ensure()
    outcome()
    prune()
  } catch (error) {
    outcome(error)
    log.warn('postgres not reachable at startup; decisions are kept in memory until it is', { error: messageOf(error) })
  }

  const read = async <T>(query: () => Promise<T>): Promise<T> => {
    try {
      await schema.ensure()
      return await query()
    } catch (error) {
      if (isMissingTable(error)) schema.invalidate()
      throw error
    }
  }
  const joined = sql`SELECT d.*, l.label AS l_label, l.source AS l_source, l.time_ms AS l_time
    FROM ${sql(t.decisions)} d LEFT JOIN ${sql(t.labels)} l ON l.request_id = d.id`

  return {
    record: writer.record,
    flush: writer.flush,
    async label(requestId, label, source) {
      await writer.flush()
      // One statement: an explicit label replaces any; an inferred one never replaces an explicit one.
      const [row] = await read(() => client.timed(sql<{ found: number }[]>`
        WITH d AS (SELECT id FROM ${sql(t.decisions)} WHERE id = ${requestId}),
        up AS (
          INSERT INTO ${sql(t.labels)} (request_id, label, source, time_ms)
          SELECT id, ${label}::text, ${source}::text, ${Date.now()}::bigint FROM d
          ON CONFLICT (request_id) DO UPDATE SET label = EXCLUDED.label, source = EXCLUDED.source, time_ms = EXCLUDED.time_ms
          WHERE ${isExplicit(source)}::boolean OR NOT (${sql(t.labels)}.source = ANY(${EXPLICIT_SOURCES}::text[]))
        )
        SELECT count(*)::int AS found FROM d`))
      return (row?.found ?? 0) > 0
    },
    async get(requestId) {
      const queued = writer.findQueued((d) => d.id === requestId)
      if (queued) return { ...queued, feedback: null }
      const [row] = await read(() => client.timed(sql<LabelledRow[]>`${joined} WHERE d.id = ${requestId}`))
      return row ? withFeedback(row) : undefined
    },
    async list(query) {
      await writer.flush()
      let where = sql`TRUE`
      if (query.route !== undefined) where = sql`${where} AND d.route = ${query.route}`
      if (query.label !== undefined) where = sql`${where} AND d.label = ${query.label}`
      if (query.sinceMs !== undefined) where = sql`${where} AND d.time_ms >= ${Math.floor(query.sinceMs)}::bigint`
      if (query.client !== undefined) where = sql`${where} AND d.client = ${query.client}`
      if (query.team !== undefined) where = sql`${where} AND d.team = ${query.team}`
      const rows = await read(() => client.timed(sql<LabelledRow[]>`${joined} WHERE ${where} ORDER BY d.time_ms DESC, d.seq DESC LIMIT ${query.limit}`))
      return rows.map(withFeedback)
    },
    async labelled() {
      await writer.flush()
      const rows = await read(() => client.timed(sql<LabelledRow[]>`
        SELECT d.*, l.label AS l_label, l.source AS l_source, l.time_ms AS l_time
        FROM ${sql(t.labels)} l JOIN ${sql(t.decisions)} d ON d.id = l.request_id ORDER BY l.time_ms, d.time_ms, d.seq`))
      return rows
        .filter((r) => (TASK_CLASSES as readonly string[]).includes(r.l_label ?? ''))
        .map((r) => ({ ...fromRow(r), correct: r.l_label as TaskClass, source: r.l_source as LabelSource, labelledAtMs: Number(r.l_time) }))
    },
    async findPrevious(clientName, promptHash, sinceMs) {
      const queued = writer.findQueued((d) => d.promptHash === promptHash && d.client === clientName && d.timeMs >= sinceMs)
      if (queued) return queued
      const who = clientName === undefined ? sql`d.client IS NULL` : sql`d.client = ${clientName}`
      const [row] = await read(() => client.timed(sql<Row[]>`
        SELECT d.* FROM ${sql(t.decisions)} d WHERE d.time_ms >= ${Math.floor(sinceMs)}::bigint AND d.prompt_hash = ${promptHash} AND ${who}
        ORDER BY d.time_ms DESC LIMIT 1`))
      return row ? fromRow(row) : undefined
    },
    publishVersion: (classifier, version, payload) => read(() => versions.publish(classifier, version, payload)),
    subscribeVersions: versions.subscribe,
    state: () => ({ mode: reachable ? 'shared' : 'local', failing: !reachable, pending: writer.pending, dropped: writer.dropped }),
    stateBackend: () => ({ component: 'history', mode: reachable ? 'shared' : 'local', ...(lastError ? { detail: lastError } : {}) }),
    async close() {
      closed = true
      await versions.close()
      // A bounded wait: Postgres away at shutdown must not hold the gateway's exit.
      let timer: ReturnType<typeof setTimeout> | undefined
      const flushed = await Promise.race([
        writer.flush().then(() => true, () => false),
        new Promise<false>((done) => (timer = setTimeout(() => done(false), o.timeoutMs))),
      ])
      clearTimeout(timer)
      writer.stop()
      if (!flushed && writer.pending > 0) log.warn('decision history closed with decisions unwritten', { pending: writer.pending })
      await client.close()
    },
  }
}
