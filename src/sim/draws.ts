/** Deterministic "random" draws for the quality model: every choice is a hash of the text it is about. */
import { hashText } from './generate.ts'

/** murmur3's finalizer: FNV-1a's low bits are weak on near-identical texts, and draws need all 32 bits. */
function mix(hash: number): number {
  let h = hash >>> 0
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b) >>> 0
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35) >>> 0
  h ^= h >>> 16
  return h >>> 0
}

/** A uniform draw in [0, 1) fixed by `text`. */
export function drawUnit(text: string): number {
  return mix(hashText(text)) / 2 ** 32
}

/** A deterministic integer in [0, n) fixed by `text`. */
export function drawIndex(text: string, n: number): number {
  return Math.min(n - 1, Math.floor(drawUnit(text) * n))
}

/** A sequence of draws from one seed, for building a whole answer. */
export interface Picker {
  /** Uniform in [0, 1). */
  unit(): number
  /** An integer in [lo, hi], both included. */
  int(lo: number, hi: number): number
  pick<T>(items: readonly T[]): T
}

export function createPicker(seed: string): Picker {
  let state = mix(hashText(seed)) || 0x9e3779b9
  const unit = () => {
    // xorshift32, then the finalizer so consecutive states do not correlate.
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    state >>>= 0
    return mix(state) / 2 ** 32
  }
  return {
    unit,
    int: (lo, hi) => lo + Math.floor(unit() * (hi - lo + 1)),
    pick<T>(items: readonly T[]): T {
      const item = items[Math.floor(unit() * items.length)]
      if (item === undefined) throw new RangeError('pick from an empty list')
      return item
    },
  }
}
