/** The decision history in SQLite: batched writes off the request path, labels, retention, and the reads a retrain needs. */
import { Database } from 'bun:sqlite'
import { EXPLICIT_LABEL_SOURCES, TASK_CLASSES, messageOf } from 'switchyard/plugin'
import type { DecisionRecord, HistoryQuery, HistoryState, LabelledDecision, LabelSource, Logger, TaskClass } from 'switchyard/plugin'
import { decodeFeatures, encodeFeatures } from './features.ts'

export interface HistoryStoreOptions {
  readonly maxRows?: number
  readonly maxAgeDays?: number
  /** Keep the prompt text of each decision (off by default: only its hash and the classifier's features). */
  readonly storePrompts?: boolean
  /** Queued decisions are written at most this long after they were recorded. */
  readonly flushMs?: number
  /** Decisions kept in memory while the database cannot be written; beyond it the oldest are dropped (and counted). */
  readonly maxPending?: number
  readonly log?: Logger
}

export interface HistoryStore {
  readonly path: string
  /** Where decisions go: `file`, or `memory` when the file could not be opened. */
  readonly mode: 'file' | 'memory'
  record(decision: DecisionRecord): void
  flush(): void
  label(requestId: string, label: TaskClass, source: LabelSource): boolean
  get(requestId: string): (DecisionRecord & { feedback: { label: TaskClass; source: LabelSource } | null }) | undefined
  list(query: HistoryQuery): (DecisionRecord & { feedback: { label: TaskClass; source: LabelSource } | null })[]
  labelled(): LabelledDecision[]
  findPrevious(client: string | undefined, promptHash: string, sinceMs: number): DecisionRecord | undefined
  /** Rows in the decisions table (for tests, metrics and the retention check). */
  count(): number
  /** Where decisions go, whether writes fail now, what waits to be written and what was dropped. */
  state(): HistoryState
  /** Apply retention now (it also runs after writes, in small steps). */
  prune(nowMs?: number): number
  close(): void
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS decisions (
  id TEXT PRIMARY KEY, time_ms INTEGER NOT NULL, client TEXT, protocol TEXT NOT NULL, operation TEXT NOT NULL,
  requested TEXT NOT NULL, route TEXT, label TEXT, confidence REAL, classifier TEXT, classifier_version TEXT,
  forced INTEGER NOT NULL DEFAULT 0, model TEXT, backend TEXT, status INTEGER NOT NULL, cache TEXT,
  latency_ms REAL NOT NULL, ttft_ms REAL, input_tokens INTEGER, output_tokens INTEGER, escalation TEXT, error TEXT,
  prompt_hash TEXT NOT NULL, features BLOB, prompt TEXT, team TEXT
);
CREATE INDEX IF NOT EXISTS decisions_time ON decisions (time_ms);
-- Look-ups by prompt are recent (a retry window): the time index serves them; a prompt index cost every insert.
DROP INDEX IF EXISTS decisions_prompt;
CREATE TABLE IF NOT EXISTS labels (
  request_id TEXT PRIMARY KEY, label TEXT NOT NULL, source TEXT NOT NULL, time_ms INTEGER NOT NULL
);
PRAGMA user_version = 1;
`

const COLUMNS = [
  'id', 'time_ms', 'client', 'protocol', 'operation', 'requested', 'route', 'label', 'confidence', 'classifier',
  'classifier_version', 'forced', 'model', 'backend', 'status', 'cache', 'latency_ms', 'ttft_ms', 'input_tokens',
  'output_tokens', 'escalation', 'error', 'prompt_hash', 'features', 'prompt', 'team',
] as const

type Row = Record<(typeof COLUMNS)[number], string | number | Uint8Array | null>
type LabelRow = { label: string; source: string; time_ms: number }

const isExplicit = (source: string) => (EXPLICIT_LABEL_SOURCES as readonly string[]).includes(source)
const DAY_MS = 86_400_000
/** Retention deletes at most this many rows per step, so one step never holds the event loop for long. */
const PRUNE_STEP = 2_000
/** Background writes take at most this many rows per turn of the event loop. */
const WRITE_STEP = 64

function toRow(d: DecisionRecord, storePrompts: boolean): (string | number | Uint8Array | null)[] {
  return [
    d.id, Math.round(d.timeMs), d.client ?? null, d.protocol, d.operation, d.requested, d.route ?? null, d.label ?? null,
    d.confidence ?? null, d.classifier ?? null, d.classifierVersion ?? null, d.forced ? 1 : 0, d.model ?? null, d.backend ?? null,
    d.status, d.cache ?? null, d.latencyMs, d.ttftMs ?? null, d.inputTokens ?? null, d.outputTokens ?? null,
    d.escalation ?? null, d.error ?? null, d.promptHash, d.features ? encodeFeatures(d.features) : null,
    storePrompts && d.prompt !== undefined ? d.prompt : null, d.team ?? null,
  ]
}

function fromRow(r: Row): DecisionRecord {
  const opt = <T>(x: unknown) => (x === null || x === undefined ? undefined : (x as T))
  const out: Record<string, unknown> = {
    id: r.id, timeMs: r.time_ms, client: opt(r.client), protocol: r.protocol, operation: r.operation, requested: r.requested,
    route: opt(r.route), label: opt(r.label), confidence: opt(r.confidence), classifier: opt(r.classifier),
    classifierVersion: opt(r.classifier_version), forced: r.forced === 1 ? true : undefined, model: opt(r.model),
    backend: opt(r.backend), status: r.status, cache: opt(r.cache), latencyMs: r.latency_ms, ttftMs: opt(r.ttft_ms),
    inputTokens: opt(r.input_tokens), outputTokens: opt(r.output_tokens), escalation: opt(r.escalation), error: opt(r.error),
    promptHash: r.prompt_hash, features: r.features ? decodeFeatures(r.features as Uint8Array) : undefined, prompt: opt(r.prompt),
    team: opt(r.team),
  }
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k]
  return out as unknown as DecisionRecord
}

function openDatabase(path: string): Database {
  const db = new Database(path, { create: true, strict: true })
  try {
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 2000;')
    db.exec(SCHEMA)
    // Files written before decisions had a team get the column (NULL for their rows).
    const columns = db.query<{ name: string }, []>('PRAGMA table_info(decisions)').all()
    if (!columns.some((c) => c.name === 'team')) db.exec('ALTER TABLE decisions ADD COLUMN team TEXT')
    // A file that is not a database (or a damaged one) fails here rather than on the first write.
    db.query('SELECT count(*) FROM decisions').get()
    return db
  } catch (error) {
    db.close()
    throw error
  }
}

/** Opens (or creates) the history at `path`; a file that cannot be opened degrades to an in-memory store, logged. */
export function openHistoryStore(path: string, options: HistoryStoreOptions = {}): HistoryStore {
  const log = options.log
  const maxRows = options.maxRows ?? 1_000_000
  const maxAgeMs = (options.maxAgeDays ?? 30) * DAY_MS
  const flushMs = options.flushMs ?? 250
  const maxPending = options.maxPending ?? 100_000
  const storePrompts = options.storePrompts ?? false
  let mode: 'file' | 'memory' = 'file'
  let db: Database
  try {
    db = openDatabase(path)
  } catch (error) {
    log?.error('decision history cannot be opened; recording to memory until restart', { path, error: messageOf(error) })
    mode = 'memory'
    db = openDatabase(':memory:')
  }
  const insert = db.prepare(`INSERT OR IGNORE INTO decisions (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`)
  const upsertLabel = db.prepare('INSERT OR REPLACE INTO labels (request_id, label, source, time_ms) VALUES (?, ?, ?, ?)')
  const labelOf = db.prepare<LabelRow, [string]>('SELECT label, source, time_ms FROM labels WHERE request_id = ?')
  const byId = db.prepare<Row, [string]>('SELECT * FROM decisions WHERE id = ?')
  // Rows are counted here, not with count(*), which scans the whole table (milliseconds at a million rows).
  let rows = (db.query('SELECT count(*) AS n FROM decisions').get() as { n: number }).n
  const writeBatch = db.transaction((batch: readonly DecisionRecord[]) => {
    const now = Date.now()
    for (const d of batch) {
      rows += insert.run(...toRow(d, storePrompts)).changes
      // A forced class is the client's own label for that request.
      if (d.forced && d.label) upsertLabel.run(d.id, d.label, 'forced', now)
    }
  })

  let pending: DecisionRecord[] = []
  let dropped = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  let failing = false
  let writesSincePrune = 0
  let pruning = false

  /**
   * Writes what is queued: all of it when asked (`flush()`: reads, labels, shutdown), else at most WRITE_STEP rows per
   * turn of the event loop, so a large backlog never holds requests up for long (an insert costs tens of µs).
   */
  const write = (limit = Infinity) => {
    if (timer) clearTimeout(timer)
    timer = undefined
    if (pending.length === 0) return
    const batch = pending.length <= limit ? pending : pending.slice(0, limit)
    pending = pending.length <= limit ? [] : pending.slice(limit)
    try {
      writeBatch(batch)
      if (failing) log?.info('decision history writable again', { path, written: batch.length })
      failing = false
      writesSincePrune += batch.length
      if (writesSincePrune >= 1_000) schedulePrune()
      if (pending.length > 0) schedule(0)
    } catch (error) {
      // Keep the batch (nothing recorded is lost while it fits) and try again later; say so once per outage.
      pending = batch.concat(pending)
      if (pending.length > maxPending) {
        dropped += pending.length - maxPending
        pending = pending.slice(pending.length - maxPending)
      }
      if (!failing) log?.error('decision history write failed; keeping decisions in memory and retrying', { path, error: messageOf(error) })
      failing = true
      schedule(Math.max(flushMs, 2_000))
    }
  }
  const flush = () => write()
  const schedule = (ms = flushMs) => {
    if (timer) return
    timer = setTimeout(() => write(WRITE_STEP), ms)
    timer.unref?.()
  }

  /** Deletes one step of expired rows; labelled decisions are kept (they are what a retrain learns from). */
  const pruneStep = (nowMs: number): number => {
    const old = db.run(
      `DELETE FROM decisions WHERE rowid IN (SELECT rowid FROM decisions WHERE time_ms < ? AND id NOT IN (SELECT request_id FROM labels) LIMIT ${PRUNE_STEP})`,
      [nowMs - maxAgeMs],
    ).changes
    rows -= old
    const over = Math.min(rows - maxRows, PRUNE_STEP)
    const extra = over > 0
      ? db.run(`DELETE FROM decisions WHERE rowid IN (SELECT rowid FROM decisions WHERE id NOT IN (SELECT request_id FROM labels) ORDER BY time_ms LIMIT ?)`, [over]).changes
      : 0
    rows -= extra
    return old + extra
  }
  const prune = (nowMs = Date.now()): number => {
    let removed = 0
    for (let step = pruneStep(nowMs); step > 0; step = pruneStep(nowMs)) removed += step
    return removed
  }
  function schedulePrune() {
    if (pruning) return
    pruning = true
    writesSincePrune = 0
    // One step per tick, so retention never blocks requests for more than one bounded delete.
    const run = () => {
      try {
        if (pruneStep(Date.now()) >= PRUNE_STEP) return void setTimeout(run, 10).unref?.()
      } catch (error) {
        log?.warn('decision history retention step failed', { path, error: messageOf(error) })
      }
      pruning = false
    }
    setTimeout(run, 0).unref?.()
  }

  const withFeedback = (r: Row) => {
    const l = labelOf.get(r.id as string)
    return { ...fromRow(r), feedback: l ? { label: l.label as TaskClass, source: l.source as LabelSource } : null }
  }

  return {
    path,
    get mode() {
      return mode
    },
    record(decision) {
      pending.push(decision)
      // A full batch is written on the next turn of the event loop, never inside the request that filled it.
      if (pending.length === 500) {
        if (timer) clearTimeout(timer)
        timer = undefined
        schedule(0)
      } else schedule()
    },
    flush,
    label(requestId, label, source) {
      flush()
      if (!byId.get(requestId)) return false
      const existing = labelOf.get(requestId)
      // An inferred label never overrides what a person said about the same request.
      if (existing && isExplicit(existing.source) && !isExplicit(source)) return true
      upsertLabel.run(requestId, label, source, Date.now())
      return true
    },
    get(requestId) {
      const inQueue = pending.find((d) => d.id === requestId)
      if (inQueue) return { ...inQueue, feedback: null }
      const row = byId.get(requestId)
      return row ? withFeedback(row) : undefined
    },
    list(query) {
      flush()
      const where: string[] = []
      const args: (string | number)[] = []
      if (query.route !== undefined) (where.push('route = ?'), args.push(query.route))
      if (query.label !== undefined) (where.push('label = ?'), args.push(query.label))
      if (query.sinceMs !== undefined) (where.push('time_ms >= ?'), args.push(query.sinceMs))
      if (query.client !== undefined) (where.push('client = ?'), args.push(query.client))
      if (query.team !== undefined) (where.push('team = ?'), args.push(query.team))
      const sql = `SELECT * FROM decisions ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY time_ms DESC, rowid DESC LIMIT ?`
      return db.query<Row, (string | number)[]>(sql).all(...args, query.limit).map(withFeedback)
    },
    labelled() {
      flush()
      const rows = db.query<Row & { l_label: string; l_source: string; l_time: number }, []>(
        'SELECT d.*, l.label AS l_label, l.source AS l_source, l.time_ms AS l_time FROM labels l JOIN decisions d ON d.id = l.request_id ORDER BY l.time_ms, d.time_ms',
      ).all()
      return rows
        .filter((r) => (TASK_CLASSES as readonly string[]).includes(r.l_label))
        .map((r) => ({ ...fromRow(r), correct: r.l_label as TaskClass, source: r.l_source as LabelSource, labelledAtMs: r.l_time }))
    },
    findPrevious(client, promptHash, sinceMs) {
      for (let i = pending.length - 1; i >= 0; i--) {
        const d = pending[i]!
        if (d.promptHash === promptHash && d.client === client && d.timeMs >= sinceMs) return d
      }
      const row = db.query<Row, (string | number)[]>(
        `SELECT * FROM decisions WHERE time_ms >= ? AND prompt_hash = ? AND ${client === undefined ? 'client IS NULL' : 'client = ?'} ORDER BY time_ms DESC LIMIT 1`,
      ).get(...[sinceMs, promptHash, ...(client === undefined ? [] : [client])])
      return row ? fromRow(row) : undefined
    },
    count: () => (flush(), (db.query('SELECT count(*) AS n FROM decisions').get() as { n: number }).n),
    state: () => ({ mode, failing, pending: pending.length, dropped }),
    prune,
    close() {
      flush()
      db.close()
    },
  }
}
