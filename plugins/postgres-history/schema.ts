/** The Postgres tables of the shared history (decisions, labels, classifier versions), created idempotently at start. */
import type { PgClient } from './client.ts'

export interface TableNames {
  readonly decisions: string
  readonly labels: string
  readonly versions: string
  /** NOTIFY channel announcing a published classifier version. */
  readonly channel: string
}

/** `prefix` is checked by the options schema (lowercase letters, digits, `_`), so it is safe inside DDL. */
export const tableNames = (prefix: string): TableNames => ({
  decisions: `${prefix}decisions`,
  labels: `${prefix}labels`,
  versions: `${prefix}versions`,
  channel: `${prefix}versions`,
})

/**
 * `seq` orders rows by arrival across instances (clocks differ) and bounds retention by count; `time_ms` is the
 * decision's own time. Labels live apart so a label for a decision recorded by another instance is one upsert.
 */
export const schemaDdl = (t: TableNames, prefix: string): string => `
CREATE TABLE IF NOT EXISTS ${t.decisions} (
  seq BIGSERIAL NOT NULL UNIQUE, id TEXT PRIMARY KEY, time_ms BIGINT NOT NULL, client TEXT, team TEXT,
  protocol TEXT NOT NULL, operation TEXT NOT NULL, requested TEXT NOT NULL, route TEXT, label TEXT,
  confidence DOUBLE PRECISION, classifier TEXT, classifier_version TEXT, forced BOOLEAN NOT NULL DEFAULT FALSE,
  model TEXT, backend TEXT, status INTEGER NOT NULL, cache TEXT, latency_ms DOUBLE PRECISION NOT NULL,
  ttft_ms DOUBLE PRECISION, input_tokens INTEGER, output_tokens INTEGER, escalation TEXT, error TEXT,
  prompt_hash TEXT NOT NULL, features BYTEA, prompt TEXT
);
CREATE INDEX IF NOT EXISTS ${prefix}decisions_time ON ${t.decisions} (time_ms);
CREATE TABLE IF NOT EXISTS ${t.labels} (
  request_id TEXT PRIMARY KEY, label TEXT NOT NULL, source TEXT NOT NULL, time_ms BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS ${t.versions} (
  seq BIGSERIAL PRIMARY KEY, classifier TEXT NOT NULL, version TEXT NOT NULL, payload TEXT NOT NULL,
  created_ms BIGINT NOT NULL, origin TEXT NOT NULL, UNIQUE (classifier, version)
);
`

/**
 * Creates what is missing. Several instances starting at once would race inside CREATE ... IF NOT EXISTS (two
 * creators of one table: a unique violation on the catalog), so creation is serialized by an advisory lock held for
 * the transaction.
 */
export async function ensureSchema(client: PgClient, t: TableNames, prefix: string): Promise<void> {
  const { sql } = client
  await client.timed(sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(hashtext(${`switchyard-history:${prefix}`}))`
    await tx.unsafe(schemaDdl(t, prefix)).simple()
  }))
}

/** The tables of one store: `ensure()` creates them once (again after `invalidate()`), concurrent callers share the attempt. */
export interface Schema {
  ensure(): Promise<void>
  invalidate(): void
}

export function createSchema(client: PgClient, t: TableNames, prefix: string): Schema {
  let ready = false
  let attempt: Promise<void> | undefined
  return {
    ensure() {
      if (ready) return Promise.resolve()
      attempt ??= ensureSchema(client, t, prefix).then(
        () => void (ready = true),
        (error: unknown) => {
          attempt = undefined
          throw error
        },
      )
      return attempt
    },
    invalidate() {
      ready = false
      attempt = undefined
    },
  }
}
