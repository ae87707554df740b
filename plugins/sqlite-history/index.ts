/** `sqlite-history`: the default decision history, one SQLite file beside the config (Bun's built-in `bun:sqlite`). */
import { resolve } from 'node:path'
import * as v from 'valibot'
import { definePlugin } from 'switchyard/plugin'
import { openHistoryStore } from './store.ts'

export const DEFAULT_HISTORY_FILE = 'switchyard-history.db'

export default definePlugin({
  name: 'sqlite-history',
  kind: 'history',
  options: v.strictObject({
    /** The database file, relative to the config file; default `switchyard-history.db` in the state directory. */
    path: v.optional(v.pipe(v.string(), v.minLength(1))),
    maxRows: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 1_000_000),
    maxAgeDays: v.optional(v.pipe(v.number(), v.gtValue(0)), 30),
    /** Keep each prompt's text; off by default (decisions keep a hash of the prompt and the classifier's features). */
    storePrompts: v.optional(v.boolean(), false),
    /** Recorded decisions are written in batches at most this long after the request. */
    flushMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(60_000)), 250),
  }),
  setup: ({ options, baseDir, stateDir, keep, log }) => {
    const path = options.path === undefined ? resolve(stateDir ?? baseDir, DEFAULT_HISTORY_FILE) : options.path === ':memory:' ? ':memory:' : resolve(baseDir, options.path)
    // One connection per file for the process: a reload keeps it (and what is queued), new settings included.
    const store = keep(`${path}\u0000${options.storePrompts}\u0000${options.maxRows}\u0000${options.maxAgeDays}\u0000${options.flushMs}`, () => openHistoryStore(path, { ...options, log }))
    return {
      storesPrompts: options.storePrompts,
      record: store.record,
      label: store.label,
      get: store.get,
      list: store.list,
      labelled: store.labelled,
      findPrevious: store.findPrevious,
      flush: async () => store.flush(),
      state: store.state,
      // The connection outlives a reload (see keep); a close only writes what is queued.
      close: () => store.flush(),
    }
  },
})
