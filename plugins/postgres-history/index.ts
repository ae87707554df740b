/** `postgres-history`: one decision history (labels and classifier versions too) shared by several gateway instances. */
import * as v from 'valibot'
import { definePlugin, redactedUrl } from 'switchyard/plugin'
import { openPostgresHistory } from './store.ts'

const PostgresUrl = v.pipe(v.string(), v.regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL'))

export default definePlugin({
  name: 'postgres-history',
  kind: 'history',
  options: v.pipe(
    v.strictObject({
      /** The database, e.g. `postgres://switchyard:secret@db:5432/switchyard`. */
      url: v.optional(PostgresUrl),
      /** Or the environment variable holding that URL (keeps the password out of the config file). */
      urlEnv: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name'))),
      /** Prefix of the tables (`<table>decisions`, `<table>labels`, `<table>versions`). */
      table: v.optional(v.pipe(v.string(), v.regex(/^[a-z_][a-z0-9_]{0,39}$/, 'expected lowercase letters, digits and _ (at most 40)')), 'switchyard_'),
      maxRows: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 1_000_000),
      maxAgeDays: v.optional(v.pipe(v.number(), v.gtValue(0)), 30),
      /** Keep each prompt's text; off by default (decisions keep a hash of the prompt and the classifier's features). */
      storePrompts: v.optional(v.boolean(), false),
      /** Recorded decisions are written in batches at most this long after the request (while Postgres answers). */
      flushMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(60_000)), 250),
      /** Decisions kept in memory while Postgres is away; beyond it the oldest are dropped (and counted). */
      maxPending: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1_000)), 50_000),
      /** Longest one query (or connection attempt) may take. */
      timeoutMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(100), v.maxValue(120_000)), 5_000),
    }),
    v.check((o) => (o.url === undefined) !== (o.urlEnv === undefined), 'set exactly one of url and urlEnv'),
  ),
  setup: async ({ options, log }) => {
    const url = options.url ?? process.env[options.urlEnv!]
    if (!url) throw new Error(`environment variable ${options.urlEnv} (options.urlEnv) is not set`)
    if (!v.is(PostgresUrl, url)) throw new Error(`environment variable ${options.urlEnv} does not hold a postgres:// URL`)
    log.debug('decision history in postgres', { url: redactedUrl(url), table: options.table })
    const store = await openPostgresHistory({ ...options, url, log })
    return {
      storesPrompts: options.storePrompts,
      record: store.record,
      label: store.label,
      get: store.get,
      list: store.list,
      labelled: store.labelled,
      findPrevious: store.findPrevious,
      flush: store.flush,
      state: store.state,
      stateBackend: store.stateBackend,
      publishVersion: store.publishVersion,
      subscribeVersions: store.subscribeVersions,
      close: store.close,
    }
  },
})
