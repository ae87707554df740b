/**
 * Classifier versions shared between gateway instances: a published version is a row of the versions table and a
 * NOTIFY naming its `seq`; subscribers LISTEN (Bun's client re-subscribes after a dropped connection) and, on every
 * (re)subscribe, catch up with the latest row per classifier, so nothing published while they were away is missed.
 */
import { messageOf } from 'switchyard/plugin'
import type { Logger } from 'switchyard/plugin'
import type { SQL } from 'bun'
import type { PgClient } from './client.ts'
import type { Schema, TableNames } from './schema.ts'

type OnVersion = (classifier: string, version: string, payload: string) => void
type VersionRow = { seq: string | number; classifier: string; version: string; payload: string; origin: string }

export interface VersionSharing {
  publish(classifier: string, version: string, payload: string): Promise<void>
  subscribe(onVersion: OnVersion): void
  close(): Promise<void>
}

/** Older versions of a classifier beyond this many are deleted when a new one is published. */
const KEEP_VERSIONS = 20
const RESUBSCRIBE_MIN_MS = 250
const RESUBSCRIBE_MAX_MS = 10_000

/** `origin` names this instance: its own publications are not handed back to it. */
export function createVersionSharing(client: PgClient, t: TableNames, schema: Schema, origin: string, log: Logger): VersionSharing {
  const { sql } = client
  const subscriptions: SQL.ListenSubscription[] = []
  const timers = new Set<ReturnType<typeof setTimeout>>()
  let closed = false

  const later = (ms: number, run: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      if (!closed) run()
    }, ms)
    timer.unref?.()
    timers.add(timer)
  }

  const subscribe = (onVersion: OnVersion) => {
    /** The newest seq seen per classifier, own publications included: older or repeated announcements are ignored. */
    const known = new Map<string, number>()
    // One at a time and in order, so a catch-up and a notification never hand over the same version twice.
    let chain = Promise.resolve()
    const serially = (work: () => Promise<void>) => (chain = chain.then(work).catch((error: unknown) => log.warn('classifier version sharing failed', { error: messageOf(error) })))

    const deliver = (rows: readonly VersionRow[]) => {
      for (const row of rows) {
        const seq = Number(row.seq)
        if (seq <= (known.get(row.classifier) ?? 0)) continue
        known.set(row.classifier, seq)
        if (row.origin === origin || closed) continue
        try {
          onVersion(row.classifier, row.version, row.payload)
        } catch (error) {
          log.warn('adopting a shared classifier version failed', { classifier: row.classifier, version: row.version, error: messageOf(error) })
        }
      }
    }
    const catchUp = (): void => void serially(async () => {
      try {
        await schema.ensure()
        deliver(await client.timed(sql<VersionRow[]>`
          SELECT DISTINCT ON (classifier) seq, classifier, version, payload, origin FROM ${sql(t.versions)} ORDER BY classifier, seq DESC`))
      } catch (error) {
        // The listen connection is back but a query failed: try again rather than miss what was published meanwhile.
        later(1_000, catchUp)
        throw error
      }
    })
    const onNotify = (payload: string) => void serially(async () => {
      const seq = Number(payload)
      if (!Number.isSafeInteger(seq)) return
      deliver(await client.timed(sql<VersionRow[]>`SELECT seq, classifier, version, payload, origin FROM ${sql(t.versions)} WHERE seq = ${seq}`))
    })

    const listen = (waitMs: number) => {
      sql.listen(t.channel, onNotify, catchUp).then(
        (subscription) => (closed ? void subscription.unlisten().catch(() => {}) : void subscriptions.push(subscription)),
        (error: unknown) => {
          // Postgres away at start: Bun retries a listen only once it was established, so retry here.
          if (waitMs === RESUBSCRIBE_MIN_MS) log.warn('cannot subscribe to shared classifier versions yet; retrying', { error: messageOf(error) })
          later(waitMs, () => listen(Math.min(waitMs * 2, RESUBSCRIBE_MAX_MS)))
        },
      )
    }
    listen(RESUBSCRIBE_MIN_MS)
  }

  return {
    async publish(classifier, version, payload) {
      await schema.ensure()
      // Re-publishing a version (a rollback to it) gives it a new seq: it is the newest again everywhere.
      await client.timed(sql`
        WITH up AS (
          INSERT INTO ${sql(t.versions)} (classifier, version, payload, created_ms, origin)
          VALUES (${classifier}, ${version}, ${payload}, ${Date.now()}::bigint, ${origin})
          ON CONFLICT (classifier, version) DO UPDATE
            SET payload = EXCLUDED.payload, created_ms = EXCLUDED.created_ms, origin = EXCLUDED.origin, seq = DEFAULT
          RETURNING seq
        )
        SELECT seq, pg_notify(${t.channel}, seq::text) FROM up`)
      await client.timed(sql`
        DELETE FROM ${sql(t.versions)} WHERE classifier = ${classifier} AND seq < (
          SELECT seq FROM ${sql(t.versions)} WHERE classifier = ${classifier} ORDER BY seq DESC OFFSET ${KEEP_VERSIONS - 1} LIMIT 1)`)
    },
    subscribe,
    async close() {
      closed = true
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      await Promise.allSettled(subscriptions.splice(0).map((s) => s.unlisten()))
    },
  }
}
