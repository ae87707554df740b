/** Per-model and per-class aggregates over a sliding window: rate, p50/p95, tokens/s, share, cache hits, sparklines. */
import { isCacheHit } from 'switchyard/plugin'
import { type Decision, isFailed } from './decisions.ts'

/** What a panel row shows; `series*` are oldest-first buckets for sparklines. */
export interface AggregateRow {
  readonly key: string
  readonly requests: number
  readonly totalRequests: number
  readonly ratePerMin: number
  readonly share: number
  readonly errors: number
  readonly latencyP50Ms: number | null
  readonly latencyP95Ms: number | null
  readonly ttftP50Ms: number | null
  readonly ttftP95Ms: number | null
  readonly tokensPerSec: number | null
  readonly cacheHitRate: number | null
  readonly seriesRequests: readonly number[]
  readonly seriesLatencyMs: readonly (number | null)[]
}

interface Sample {
  readonly timeMs: number
  readonly durationMs: number
  readonly ttftMs: number | null
  readonly outputTokens: number | null
  readonly cached: boolean
  readonly failed: boolean
}

interface Series {
  samples: Sample[]
  total: number
}

export interface Aggregates {
  add(d: Decision): void
  /** Rows for the given grouping, busiest first. */
  rows(by: 'model' | 'class', nowMs: number): AggregateRow[]
}

/** Requests answered without a classification (a named model) are grouped under this class key. */
export const DIRECT_CLASS = 'named'
/** Samples kept per key (up to twice this between trims), so a busy model cannot grow memory without bound. */
export const MAX_SAMPLES = 2_000

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits
const roundOrNull = (x: number | null) => (x === null ? null : round(x))

export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null
  const rank = Math.ceil((p / 100) * sorted.length) - 1
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] ?? null
}

/** Aggregates over `windowMs`; rates count from `startMs` while the gateway is younger than a window. */
export function createAggregates(windowMs: number, buckets: number, startMs = Date.now()): Aggregates {
  const groups = { model: new Map<string, Series>(), class: new Map<string, Series>() }
  const bucketMs = windowMs / buckets

  const record = (map: Map<string, Series>, key: string, s: Sample) => {
    let series = map.get(key)
    if (!series) map.set(key, (series = { samples: [], total: 0 }))
    series.samples.push(s)
    series.total++
    // Trimmed in batches: cutting one sample off the front of a full array on every request moved all the others.
    if (series.samples.length >= 2 * MAX_SAMPLES) series.samples.splice(0, series.samples.length - MAX_SAMPLES)
  }

  /** `series.samples` holds only the window's samples by now (rows() dropped the older ones). */
  const summarize = (key: string, series: Series, nowMs: number, windowTotal: number): AggregateRow => {
    const from = nowMs - windowMs
    const inWindow = series.samples
    const answered = inWindow.filter((s) => !s.failed)
    const latencies = answered.map((s) => s.durationMs).sort((a, b) => a - b)
    const ttfts = answered.flatMap((s) => (s.ttftMs === null || s.cached ? [] : [s.ttftMs])).sort((a, b) => a - b)
    let tokens = 0
    let decodeMs = 0
    for (const s of answered) {
      if (s.outputTokens === null || s.cached) continue
      tokens += s.outputTokens
      decodeMs += Math.max(1, s.durationMs - (s.ttftMs ?? 0))
    }
    const seriesRequests = new Array<number>(buckets).fill(0)
    const latencySums = new Array<number>(buckets).fill(0)
    for (const s of inWindow) {
      const i = Math.min(buckets - 1, Math.floor((s.timeMs - from) / bucketMs))
      seriesRequests[i] = (seriesRequests[i] ?? 0) + 1
      latencySums[i] = (latencySums[i] ?? 0) + s.durationMs
    }
    return {
      key,
      requests: inWindow.length,
      totalRequests: series.total,
      ratePerMin: round((inWindow.length * 60_000) / Math.max(bucketMs, Math.min(windowMs, nowMs - startMs))),
      share: windowTotal === 0 ? 0 : round(inWindow.length / windowTotal, 3),
      errors: inWindow.length - answered.length,
      latencyP50Ms: roundOrNull(percentile(latencies, 50)),
      latencyP95Ms: roundOrNull(percentile(latencies, 95)),
      ttftP50Ms: roundOrNull(percentile(ttfts, 50)),
      ttftP95Ms: roundOrNull(percentile(ttfts, 95)),
      tokensPerSec: decodeMs > 0 ? round((tokens * 1000) / decodeMs) : null,
      cacheHitRate: inWindow.length === 0 ? null : round(inWindow.filter((s) => s.cached).length / inWindow.length, 3),
      seriesRequests,
      seriesLatencyMs: seriesRequests.map((n, i) => (n === 0 ? null : round((latencySums[i] ?? 0) / n))),
    }
  }

  return {
    add(d) {
      const sample: Sample = {
        timeMs: d.timeMs,
        durationMs: d.durationMs ?? 0,
        ttftMs: d.ttftMs,
        outputTokens: d.outputTokens,
        cached: isCacheHit(d.cache),
        failed: isFailed(d),
      }
      if (d.model) record(groups.model, d.model, sample)
      record(groups.class, d.class ?? DIRECT_CLASS, sample)
    },
    rows(by, nowMs) {
      const map = groups[by]
      const from = nowMs - windowMs
      let windowTotal = 0
      for (const series of map.values()) {
        series.samples = series.samples.filter((s) => s.timeMs > from)
        windowTotal += series.samples.length
      }
      return [...map.entries()]
        .map(([key, series]) => summarize(key, series, nowMs, windowTotal))
        .sort((a, b) => b.requests - a.requests || b.totalRequests - a.totalRequests || a.key.localeCompare(b.key))
    },
  }
}
