/** Exponentially weighted moving averages for latency and time-to-first-token. */

export type EwmaOptions =
  /** Weight of each new sample, 0 < alpha ≤ 1. */
  | { readonly alpha: number }
  /** Samples after which an old value's weight has halved. */
  | { readonly halfLife: number }
  /** Milliseconds after which an old value's weight has halved, for irregularly spaced samples. */
  | { readonly halfLifeMs: number; readonly now?: () => number }

export interface Ewma {
  /** Folds in a sample and returns the new average; non-finite samples are ignored. */
  update(x: number): number | undefined
  value(): number | undefined
  reset(): void
}

export function createEwma(opts: EwmaOptions): Ewma {
  const weight = weightFor(opts)
  let current: number | undefined
  return {
    update(x) {
      if (!Number.isFinite(x)) return current
      const w = weight()
      // The first sample is the average: starting from 0 would drag early values down.
      current = current === undefined ? x : current + w * (x - current)
      return current
    },
    value: () => current,
    reset() {
      current = undefined
    },
  }
}

function weightFor(opts: EwmaOptions): () => number {
  if ('alpha' in opts) {
    if (!(opts.alpha > 0 && opts.alpha <= 1)) throw new RangeError(`alpha must be in (0, 1], got ${opts.alpha}`)
    return () => opts.alpha
  }
  if ('halfLife' in opts) {
    if (!(opts.halfLife > 0)) throw new RangeError(`halfLife must be positive, got ${opts.halfLife}`)
    const alpha = 1 - 2 ** (-1 / opts.halfLife)
    return () => alpha
  }
  const { halfLifeMs } = opts
  if (!(halfLifeMs > 0)) throw new RangeError(`halfLifeMs must be positive, got ${halfLifeMs}`)
  const now = opts.now ?? Date.now
  let last: number | undefined
  return () => {
    const t = now()
    const elapsed = last === undefined ? halfLifeMs : Math.max(0, t - last)
    last = t
    return 1 - 2 ** (-elapsed / halfLifeMs)
  }
}
