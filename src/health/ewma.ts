/** Exponentially weighted moving averages for latency and time-to-first-token. */

export interface EwmaOptions {
  /** Weight of each new sample, 0 < alpha ≤ 1. */
  readonly alpha: number
}

export interface Ewma {
  /** Folds in a sample and returns the new average; non-finite samples are ignored. */
  update(x: number): number | undefined
  value(): number | undefined
}

export function createEwma({ alpha }: EwmaOptions): Ewma {
  if (!(alpha > 0 && alpha <= 1)) throw new RangeError(`alpha must be in (0, 1], got ${alpha}`)
  let current: number | undefined
  return {
    update(x) {
      if (!Number.isFinite(x)) return current
      // The first sample is the average: starting from 0 would drag early values down.
      current = current === undefined ? x : current + alpha * (x - current)
      return current
    },
    value: () => current,
  }
}
