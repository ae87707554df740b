/** A classifier feature vector as a compact blob: counts, then int32 indices, float32 values, float32 dense features. */
import type { ClassifierFeatures } from 'switchyard/plugin'

export function encodeFeatures(f: ClassifierFeatures): Uint8Array {
  const n = f.index.length
  const d = f.dense.length
  const buf = new ArrayBuffer(8 + 4 * (2 * n + d))
  const head = new Uint32Array(buf, 0, 2)
  head[0] = n
  head[1] = d
  const index = new Int32Array(buf, 8, n)
  const value = new Float32Array(buf, 8 + 4 * n, n)
  const dense = new Float32Array(buf, 8 + 8 * n, d)
  for (let i = 0; i < n; i++) {
    index[i] = f.index[i] ?? 0
    value[i] = f.value[i] ?? 0
  }
  for (let i = 0; i < d; i++) dense[i] = f.dense[i] ?? 0
  return new Uint8Array(buf)
}

/** Decodes what encodeFeatures wrote; a blob of the wrong size decodes to nothing rather than to garbage. */
export function decodeFeatures(blob: Uint8Array): ClassifierFeatures | undefined {
  if (blob.byteLength < 8) return undefined
  // Copy to an aligned buffer: SQLite hands back a view at any offset.
  const buf = blob.slice().buffer
  const [n = 0, d = 0] = new Uint32Array(buf, 0, 2)
  if (buf.byteLength !== 8 + 4 * (2 * n + d)) return undefined
  return { index: new Int32Array(buf, 8, n), value: new Float32Array(buf, 8 + 4 * n, n), dense: new Float32Array(buf, 8 + 8 * n, d) }
}
