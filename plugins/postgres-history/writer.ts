/**
 * The write side of the Postgres history: `record()` only queues; a writer sends one multi-row INSERT per batch,
 * keeps the backlog (bounded) while Postgres is away and retries with backoff, so the request path never waits.
 */
import { messageOf } from 'switchyard/plugin'
import type { DecisionRecord, Logger } from 'switchyard/plugin'
import { type PgClient, isMissingTable, isRowError } from './client.ts'
import { COLUMNS, toRow } from './rows.ts'
import type { Schema, TableNames } from './schema.ts'

export interface WriterOptions {
  readonly flushMs: number
  readonly maxPending: number
  readonly storePrompts: boolean
  readonly log: Logger
  /** The tables: created before the first write, and again when Postgres says one is missing. */
  readonly schema: Schema
  /** Called with the number of rows each successful batch wrote (retention counts them). */
  readonly onWritten: (rows: number) => void
  /** Called after every attempt to reach Postgres: ok, or the error. */
  readonly onOutcome: (error?: unknown) => void
}

export interface Writer {
  record(decision: DecisionRecord): void
  /** Writes everything queued before the call; rejects when Postgres cannot take it now. */
  flush(): Promise<void>
  /** The newest queued (not yet written) decision that matches. */
  findQueued(match: (d: DecisionRecord) => boolean): DecisionRecord | undefined
  readonly pending: number
  readonly dropped: number
  /** Stops the timers; what is still queued stays unwritten (close flushes first). */
  stop(): void
}

/** One INSERT carries at most this many rows (26 parameters each, far below Postgres's 65,535). */
const BATCH_ROWS = 512
const RETRY_MIN_MS = 250
const RETRY_MAX_MS = 5_000

export function createWriter(client: PgClient, t: TableNames, options: WriterOptions): Writer {
  const { sql } = client
  const { log, maxPending } = options
  // A queue with a moving head: shifting one row off an array of 50,000 costs a copy of the rest.
  let queue: DecisionRecord[] = []
  let head = 0
  let inflight: readonly DecisionRecord[] = []
  /** Records ever queued, and those that left the queue (written or dropped): flush waits on the second. */
  let queued = 0
  let settled = 0
  let dropped = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  let running: Promise<void> | undefined
  let failing = false
  let retryMs = RETRY_MIN_MS
  let stopped = false

  const pendingCount = () => queue.length - head

  /** Lets go of what is behind the head once it is most of the array. */
  const compact = () => {
    if (head === queue.length) {
      queue = []
      head = 0
    } else if (head > 1_024 && head * 2 > queue.length) {
      queue = queue.slice(head)
      head = 0
    }
  }
  const dropOldest = (n: number) => {
    head += n
    dropped += n
    settled += n
    compact()
  }

  const schedule = (ms: number) => {
    if (stopped || running) return
    if (timer) {
      if (ms > 0) return
      clearTimeout(timer)
    }
    timer = setTimeout(() => {
      timer = undefined
      void drain().catch(() => {})
    }, ms)
    timer.unref?.()
  }

  /** One statement: the rows, and for each forced class its `forced` label; a retried batch inserts nothing twice. */
  const insertBatch = async (batch: readonly DecisionRecord[]) => {
    const rows = batch.map((d) => toRow(d, options.storePrompts))
    await client.timed(sql`
      WITH ins AS (
        INSERT INTO ${sql(t.decisions)} ${sql(rows, ...COLUMNS)} ON CONFLICT (id) DO NOTHING RETURNING id, label, forced
      )
      INSERT INTO ${sql(t.labels)} (request_id, label, source, time_ms)
      SELECT id, label, 'forced', ${Date.now()}::bigint FROM ins WHERE forced AND label IS NOT NULL
      ON CONFLICT (request_id) DO NOTHING`)
  }

  /** A batch Postgres refused for its content: each row alone, dropping (and counting) only those it refuses. */
  const insertOneByOne = async (batch: readonly DecisionRecord[]) => {
    for (const d of batch) {
      try {
        await insertBatch([d])
      } catch (error) {
        if (!isRowError(error)) throw error
        dropped++
        log.warn('decision refused by postgres; dropped', { id: d.id, error: messageOf(error) })
      }
    }
  }

  const writeOne = async (): Promise<boolean> => {
    const available = Math.min(pendingCount(), BATCH_ROWS)
    if (available === 0) return false
    // A power of two: each batch size is its own prepared statement, which Postgres keeps per connection (measured:
    // 72 sizes held 80 MB in one backend). Ten sizes stay near 5 MB; unprepared statements halved the write rate.
    const n = 2 ** Math.floor(Math.log2(available))
    const batch = queue.slice(head, head + n)
    head += n
    compact()
    inflight = batch
    try {
      await options.schema.ensure()
      try {
        await insertBatch(batch)
      } catch (error) {
        if (!isRowError(error)) throw error
        await insertOneByOne(batch)
      }
      settled += n
      inflight = []
      options.onOutcome()
      if (failing) log.info('decision history shared again; backlog written', { pending: pendingCount() })
      failing = false
      retryMs = RETRY_MIN_MS
      options.onWritten(n)
      return true
    } catch (error) {
      // Back to the front, in order; beyond the cap the oldest go (and are counted).
      queue = batch.concat(queue.slice(head))
      head = 0
      inflight = []
      if (pendingCount() > maxPending) dropOldest(pendingCount() - maxPending)
      if (isMissingTable(error)) options.schema.invalidate()
      options.onOutcome(error)
      if (!failing) log.warn('decision history cannot reach postgres; keeping decisions in memory and retrying', { error: messageOf(error), pending: pendingCount() })
      failing = true
      throw error
    }
  }

  /** Writes batch after batch until the queue is empty; one drain at a time. */
  const drain = (): Promise<void> => {
    if (running) return running
    if (timer) clearTimeout(timer)
    timer = undefined
    const current = (async () => {
      try {
        while (!stopped && (await writeOne()));
      } finally {
        running = undefined
      }
    })()
    running = current
    // Settles after `running` is cleared, so these can schedule the next turn.
    void current.then(
      () => void (pendingCount() > 0 && schedule(options.flushMs)),
      () => {
        schedule(retryMs)
        retryMs = Math.min(retryMs * 2, RETRY_MAX_MS)
      },
    )
    return current
  }

  return {
    record(decision) {
      queue.push(decision)
      queued++
      if (pendingCount() + inflight.length > maxPending) dropOldest(1)
      // A full batch goes on the next turn of the event loop, never inside the request that filled it.
      schedule(!failing && pendingCount() >= BATCH_ROWS ? 0 : failing ? retryMs : options.flushMs)
    },
    async flush() {
      const target = queued
      while (settled < target && !stopped) {
        if (!running && pendingCount() === 0) return
        if (running) await running
        else await drain()
      }
    },
    findQueued(match) {
      for (let i = queue.length - 1; i >= head; i--) if (match(queue[i]!)) return queue[i]
      for (let i = inflight.length - 1; i >= 0; i--) if (match(inflight[i]!)) return inflight[i]
      return undefined
    },
    get pending() {
      return pendingCount() + inflight.length
    },
    get dropped() {
      return dropped
    },
    stop() {
      stopped = true
      if (timer) clearTimeout(timer)
      timer = undefined
    },
  }
}
