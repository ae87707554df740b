/** The Postgres connection of one history store (Bun's built-in client): pool settings, a deadline per query, error classes. */
import { SQL } from 'bun'

export interface PgClient {
  readonly sql: SQL
  /** Runs a query (or a transaction) and gives up after `timeoutMs`; a query is cancelled on the server too. */
  timed<T>(work: SQL.Query<T> | Promise<T>): Promise<T>
  close(timeoutS?: number): Promise<void>
}

/** Per instance: a writer, the occasional read or label, and the listen connection (which Bun opens on its own). */
const POOL_SIZE = 4

export class QueryTimeoutError extends Error {
  override readonly name = 'QueryTimeoutError'
  constructor(readonly timeoutMs: number) {
    super(`postgres did not answer within ${timeoutMs} ms`)
  }
}

export function createPgClient(url: string, timeoutMs: number): PgClient {
  const sql = new SQL(url, {
    max: POOL_SIZE,
    connectionTimeout: Math.max(1, Math.ceil(timeoutMs / 1_000)),
    idleTimeout: 60,
    connection: { application_name: 'switchyard' },
  })
  return {
    sql,
    timed<T>(work: SQL.Query<T> | Promise<T>): Promise<T> {
      const query = 'execute' in work ? work : undefined
      const running: Promise<T> = query ? query.execute() : work
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          query?.cancel()
          // Cancelling needs a second connection, which a hung server may never answer: do not wait for it.
          reject(new QueryTimeoutError(timeoutMs))
        }, timeoutMs)
        running.then(
          (value) => (clearTimeout(timer), resolve(value)),
          (error: unknown) => (clearTimeout(timer), reject(error)),
        )
      })
    },
    close: (timeoutS = 1) => sql.close({ timeout: timeoutS }),
  }
}

/**
 * A failure caused by the rows themselves (a value Postgres refuses, a row too large): retrying cannot help. Every
 * other failure (connection refused or lost, timeouts, a server restarting, a lock conflict, a missing table) is
 * treated as transient: the rows are kept and the write is retried.
 */
export function isRowError(error: unknown): boolean {
  if (!(error instanceof SQL.PostgresError)) return false
  const state = String((error as { errno?: unknown }).errno ?? '')
  // 22: data exception, 23: integrity constraint violation, 54: program limit exceeded.
  return /^(22|23|54)/.test(state)
}

/** Postgres forgot a table (dropped by hand, or a fresh database behind the same URL): create the schema again. */
export const isMissingTable = (error: unknown): boolean =>
  error instanceof SQL.PostgresError && String((error as { errno?: unknown }).errno ?? '') === '42P01'
