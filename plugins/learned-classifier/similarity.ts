/** Cosine similarity of hashed feature vectors: one dense scratch row, so comparing one vector with many allocates nothing. */
import type { ClassifierFeatures } from 'switchyard/plugin'
import { DENSE_FEATURE_NAMES } from '../heuristic-classifier/features.ts'
import type { Vector } from './featurize.ts'
import { createUnionFind } from './union-find.ts'

/**
 * A recorded feature vector as the model reads it: typed arrays (one shape for the JIT), duplicate buckets merged,
 * the sparse part at unit length (as the featurizer makes it, so cosine is a dot product). Undefined when it does
 * not fit the spec: a bucket outside `2^bits`, a different number of dense features, or a non-finite value.
 */
export function toVector(features: ClassifierFeatures, bits: number): Vector | undefined {
  const n = features.index.length
  if (features.value.length !== n || features.dense.length !== DENSE_FEATURE_NAMES.length) return undefined
  const merged = new Map<number, number>()
  for (let i = 0; i < n; i++) {
    const k = features.index[i]!
    const x = features.value[i]!
    if (!Number.isInteger(k) || k < 0 || k >= 1 << bits || !Number.isFinite(x)) return undefined
    merged.set(k, (merged.get(k) ?? 0) + x)
  }
  const dense = Array.from(features.dense, Number)
  if (!dense.every(Number.isFinite)) return undefined
  let norm = 0
  for (const x of merged.values()) norm += x * x
  norm = Math.sqrt(norm) || 1
  const index = new Int32Array(merged.size)
  const value = new Float32Array(merged.size)
  let i = 0
  for (const [k, x] of merged) {
    index[i] = k
    value[i++] = x / norm
  }
  return { index, value, dense }
}

/** Dot products against one vector at a time: `load` scatters it into a dense row, `dot` reads another against it. */
export function createDotScratch(bits: number) {
  const row = new Float32Array(1 << bits)
  let loaded: Vector | undefined
  return {
    load(v: Vector) {
      if (loaded) for (let i = 0; i < loaded.index.length; i++) row[loaded.index[i]!] = 0
      for (let i = 0; i < v.index.length; i++) row[v.index[i]!] = v.value[i]!
      loaded = v
    },
    dot(v: Vector): number {
      let s = 0
      for (let i = 0; i < v.index.length; i++) s += v.value[i]! * row[v.index[i]!]!
      return s
    },
  }
}

/** For each row, the highest cosine to any of `queries` (0 with no queries). */
export function maxCosine(rows: readonly Vector[], queries: readonly Vector[], bits: number): Float32Array {
  const best = new Float32Array(rows.length)
  const scratch = createDotScratch(bits)
  for (const q of queries) {
    scratch.load(q)
    for (let r = 0; r < rows.length; r++) {
      const c = scratch.dot(rows[r]!)
      if (c > best[r]!) best[r] = c
    }
  }
  return best
}

/** Single-linkage groups: vectors whose cosine reaches `threshold` (directly or through a chain) share a group id. */
export function cosineGroups(vectors: readonly Vector[], threshold: number, bits: number): number[] {
  const { find, union } = createUnionFind(vectors.length)
  const scratch = createDotScratch(bits)
  for (let a = 0; a < vectors.length; a++) {
    scratch.load(vectors[a]!)
    for (let b = a + 1; b < vectors.length; b++) if (scratch.dot(vectors[b]!) >= threshold) union(a, b)
  }
  return vectors.map((_, i) => find(i))
}
