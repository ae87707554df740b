/** The wire format of one semantic-cache entry in Redis (stored value and published message alike). */
import * as v from 'valibot'
import { StoredCacheEntry, parseJson } from 'switchyard/plugin'
import type { Remembered } from './local-index.ts'

/** What another instance (or an older version) wrote must look like this to be used; anything else is ignored. */
const SharedRecord = v.object({
  format: v.literal(1),
  key: v.string(),
  scope: v.string(),
  /** The unit vector as little-endian float32, base64: a quarter of the size of JSON numbers, and exact. */
  vector: v.pipe(v.string(), v.minLength(1)),
  facts: v.object({ identifiers: v.array(v.string()), numbers: v.array(v.string()), polarity: v.array(v.string()) }),
  entry: StoredCacheEntry,
  expiresAt: v.number(),
  /** The instance that wrote it, so it skips its own announcements. */
  writer: v.string(),
})

export interface SharedEntry {
  readonly key: string
  readonly scope: string
  readonly item: Remembered
  readonly writer: string
}

export function encodeEntry({ key, scope, item, writer }: SharedEntry): string {
  const { vector, facts, entry, expiresAt } = item
  const bytes = Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64')
  return JSON.stringify({ format: 1, key, scope, vector: bytes, facts, entry, expiresAt, writer })
}

/** The entry in `raw`, or undefined when it is not one (malformed, another format, an empty vector). */
export function decodeEntry(raw: string): SharedEntry | undefined {
  const parsed = v.safeParse(SharedRecord, parseJson(raw))
  if (!parsed.success) return undefined
  const { key, scope, vector, facts, entry, expiresAt, writer } = parsed.output
  const bytes = Buffer.from(vector, 'base64')
  if (bytes.byteLength === 0 || bytes.byteLength % 4 !== 0) return undefined
  // Copied into a fresh buffer: a Float32Array needs 4-byte alignment, which a Buffer slice does not promise.
  const floats = new Float32Array(bytes.byteLength / 4)
  new Uint8Array(floats.buffer).set(bytes)
  return { key, scope, writer, item: { vector: floats, facts, entry, expiresAt } }
}
