/** Order statistics for bench samples: median, percentiles, and the ratio formatting the report uses. */

import { percentile as nearestRank } from '../plugins/dashboard/aggregates.ts'

/** The nearest-rank percentile of sorted samples (the dashboard's), NaN for none. */
export function percentile(sorted: readonly number[], p: number): number {
  return nearestRank(sorted, p) ?? Number.NaN
}

export function median(values: readonly number[]): number {
  const sorted = values.filter((x) => Number.isFinite(x)).toSorted((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const mid = sorted.length >> 1
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

export function sortedCopy(values: readonly number[]): number[] {
  return values.toSorted((a, b) => a - b)
}

/** `12.3k`, `950`, `1.2M`: compact and stable in a table. */
export function compact(value: number): string {
  if (!Number.isFinite(value)) return 'n/a'
  const abs = Math.abs(value)
  if (abs >= 1e6) return `${(value / 1e6).toFixed(1)}M`
  if (abs >= 1e4) return `${(value / 1e3).toFixed(1)}k`
  if (abs >= 100) return value.toFixed(0)
  if (abs >= 10) return value.toFixed(1)
  return value.toFixed(2)
}

export function ratio(value: number, base: number): string {
  if (!Number.isFinite(value) || !Number.isFinite(base) || base === 0) return 'n/a'
  return `${(value / base).toFixed(2)}x`
}
