/** The job a load generator run is given (bench/load.ts reads it as JSON from argv) and what it reports. */

export interface LoadJob {
  /** closed: fixed concurrency as fast as possible; open: fixed rate; ttfb: one at a time; hold: N streams open at once. */
  readonly mode: 'closed' | 'open' | 'ttfb' | 'hold'
  readonly url: string
  readonly template: string
  readonly headers?: Record<string, string>
  readonly durationMs?: number
  readonly connections?: number
  readonly ratePerSecond?: number
  readonly count?: number
}

export interface LoadResult {
  readonly requests: number
  readonly errors: number
  readonly durationMs: number
  /** Latency samples in microseconds (closed/open: full response; ttfb: to the first body chunk). */
  readonly latencyUs: { p50: number; p99: number; p999: number; max: number }
  /** ttfb mode: total time of the same requests. */
  readonly totalUs?: { p50: number; p99: number }
  /** hold mode: how many streams had their first chunk before any ended. */
  readonly openAtOnce?: number
  readonly firstError?: string
}
