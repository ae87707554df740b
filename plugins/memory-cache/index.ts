/** memory-cache: exact-match answers in process memory, LRU-bounded by entries and bytes, with a TTL. */
import * as v from 'valibot'
import { definePlugin } from 'switchyard/plugin'
import type { CacheEntry } from 'switchyard/plugin'

interface Stored {
  readonly entry: CacheEntry
  readonly bytes: number
  readonly expiresAt: number
}

/** Bytes an entry holds: the UTF-8 size of its body chunks (metadata is small and bounded). */
function entryBytes(entry: CacheEntry): number {
  let bytes = 0
  for (const chunk of entry.chunks) bytes += Buffer.byteLength(chunk)
  return bytes
}

/** The entries, least recently used first (a Map iterates in insertion order; a hit re-inserts). */
class Store {
  readonly #entries = new Map<string, Stored>()
  #bytes = 0

  get(key: string): CacheEntry | undefined {
    const stored = this.#entries.get(key)
    if (!stored) return undefined
    this.#entries.delete(key)
    if (stored.expiresAt <= Date.now()) {
      this.#bytes -= stored.bytes
      return undefined
    }
    this.#entries.set(key, stored)
    return stored.entry
  }

  add(key: string, stored: Stored): void {
    this.#entries.set(key, stored)
    this.#bytes += stored.bytes
  }

  drop(key: string): void {
    const stored = this.#entries.get(key)
    if (!stored) return
    this.#entries.delete(key)
    this.#bytes -= stored.bytes
  }

  evict(limits: { readonly maxEntries: number; readonly maxBytes: number }): void {
    while (this.#entries.size > limits.maxEntries || this.#bytes > limits.maxBytes) {
      const oldest = this.#entries.keys().next()
      if (oldest.done) return
      this.drop(oldest.value)
    }
  }
}

export default definePlugin({
  name: 'memory-cache',
  kind: 'cache',
  options: v.strictObject({
    ttlMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 300_000),
    maxEntries: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 1_000),
    maxBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 64 * 1024 * 1024),
    /** Also cache requests with temperature > 0 and no seed (they would otherwise bypass this cache). */
    cacheNondeterministic: v.optional(v.boolean(), false),
  }),
  setup: ({ options, keep }) => {
    // Entries carry on across config reloads; new limits apply at once.
    const store = keep('entries', () => new Store())
    const limits = { maxEntries: options.maxEntries, maxBytes: options.maxBytes }
    store.evict(limits)

    return {
      cacheNondeterministic: options.cacheNondeterministic,
      inProcess: true,
      get: (key) => store.get(key),
      set(key, entry) {
        const bytes = entryBytes(entry)
        store.drop(key)
        if (bytes > options.maxBytes) return
        store.add(key, { entry, bytes, expiresAt: Date.now() + options.ttlMs })
        store.evict(limits)
      },
    }
  },
})
