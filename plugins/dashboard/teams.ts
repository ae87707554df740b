/** Per-team aggregates: requests, rate, errors, p50/p95, tokens, GPU seconds spent and saved, escalations, share. */
import { MAX_SAMPLES, percentile } from './aggregates.ts'
import { type Decision, isFailed } from './decisions.ts'

/** The row of requests whose client key is in no team (or that came without a key). Teams come from config, so rows are bounded. */
export const NO_TEAM = 'none'

/** Sums a team row carries for its window and since start. */
export interface TeamSums {
  readonly errors: number
  readonly inputTokens: number
  readonly outputTokens: number
  /** GPU seconds of every generation (answers, rejected drafts, cancelled parallel ones). */
  readonly gpuSeconds: number
  /** Net: a request whose checks cost more than routing saved counts negative. */
  readonly gpuSecondsSaved: number
  /** Requests a larger model answered instead of the draft. */
  readonly escalations: number
}

/** What the team panel shows; the top-level sums cover the window, `sinceStart` the time since the dashboard's first setup. */
export interface TeamRow extends TeamSums {
  readonly key: string
  readonly requests: number
  readonly totalRequests: number
  readonly ratePerMin: number
  /** Of all requests in the window, teams and `none` together. */
  readonly share: number
  readonly latencyP50Ms: number | null
  readonly latencyP95Ms: number | null
  readonly sinceStart: TeamSums
}

/** A slice of the window (`bucketMs` long, aligned to the clock): exact counts however busy the team is. */
interface Slot {
  index: number
  requests: number
  sums: Mutable<TeamSums>
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

interface Team {
  /** Answered requests' latencies in the window, for the percentiles; at most MAX_SAMPLES (twice that between trims). */
  latencies: { timeMs: number; durationMs: number }[]
  /** Slot `i` holds bucket `index` with `index % buckets === i`; a stale one is cleared when reused. */
  slots: Slot[]
  total: number
  sinceStart: Mutable<TeamSums>
}

export interface TeamAggregates {
  add(d: Decision): void
  /** Busiest first. */
  rows(nowMs: number): TeamRow[]
}

const emptySums = (): Mutable<TeamSums> => ({ errors: 0, inputTokens: 0, outputTokens: 0, gpuSeconds: 0, gpuSecondsSaved: 0, escalations: 0 })

function addTo(sums: Mutable<TeamSums>, from: TeamSums): void {
  sums.errors += from.errors
  sums.inputTokens += from.inputTokens
  sums.outputTokens += from.outputTokens
  sums.gpuSeconds += from.gpuSeconds
  sums.gpuSecondsSaved += from.gpuSecondsSaved
  sums.escalations += from.escalations
}

// Sums of floating seconds pick up noise in the last digits; a microsecond is below any GPU timing we get.
const roundSeconds = (s: number) => Math.round(s * 1e6) / 1e6
const rounded = (sums: TeamSums): TeamSums => ({ ...sums, gpuSeconds: roundSeconds(sums.gpuSeconds), gpuSecondsSaved: roundSeconds(sums.gpuSecondsSaved) })
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits
const roundOrNull = (x: number | null) => (x === null ? null : round(x))

/**
 * Team aggregates over `windowMs`. Counts and sums are kept per bucket rather than per request like the per-model
 * panel's, so a busy team's tokens and GPU seconds stay exact; the window is then whole buckets (the current one and
 * the `buckets - 1` before it), and only the latency percentiles come from a bounded sample.
 */
export function createTeamAggregates(windowMs: number, buckets: number, startMs = Date.now()): TeamAggregates {
  const teams = new Map<string, Team>()
  const bucketMs = windowMs / buckets

  const summarize = (key: string, team: Team, newest: number, nowMs: number, requests: number, window: TeamSums, windowTotal: number): TeamRow => {
    const latencies = team.latencies.map((s) => s.durationMs).sort((a, b) => a - b)
    // While the gateway is younger than a window, the rate counts from its start.
    const coveredMs = Math.min(nowMs - (newest - buckets + 1) * bucketMs, nowMs - startMs)
    return {
      key,
      requests,
      totalRequests: team.total,
      ratePerMin: round((requests * 60_000) / Math.max(bucketMs, coveredMs)),
      share: windowTotal === 0 ? 0 : round(requests / windowTotal, 3),
      latencyP50Ms: roundOrNull(percentile(latencies, 50)),
      latencyP95Ms: roundOrNull(percentile(latencies, 95)),
      ...rounded(window),
      sinceStart: rounded(team.sinceStart),
    }
  }

  return {
    add(d) {
      const key = d.team ?? NO_TEAM
      const failed = isFailed(d)
      const sums: TeamSums = {
        errors: failed ? 1 : 0,
        inputTokens: d.inputTokens ?? 0,
        outputTokens: d.outputTokens ?? 0,
        gpuSeconds: d.gpuSeconds ?? 0,
        gpuSecondsSaved: d.gpuSecondsSaved ?? 0,
        escalations: d.escalation === null ? 0 : 1,
      }
      let team = teams.get(key)
      if (!team) {
        const slots = Array.from({ length: buckets }, () => ({ index: -1, requests: 0, sums: emptySums() }))
        teams.set(key, (team = { latencies: [], slots, total: 0, sinceStart: emptySums() }))
      }
      team.total++
      addTo(team.sinceStart, sums)
      const index = Math.floor(d.timeMs / bucketMs)
      const slot = team.slots[index % buckets]!
      if (slot.index !== index) {
        // A request older than the bucket the slot holds now is already outside the window.
        if (index < slot.index) return
        slot.index = index
        slot.requests = 0
        slot.sums = emptySums()
      }
      slot.requests++
      addTo(slot.sums, sums)
      if (!failed) team.latencies.push({ timeMs: d.timeMs, durationMs: d.durationMs ?? 0 })
      // Trimmed in batches, as the per-model samples are.
      if (team.latencies.length >= 2 * MAX_SAMPLES) team.latencies.splice(0, team.latencies.length - MAX_SAMPLES)
    },
    rows(nowMs) {
      const newest = Math.floor(nowMs / bucketMs)
      const oldestMs = (newest - buckets + 1) * bucketMs
      const windows = [...teams.entries()].map(([key, team]) => {
        team.latencies = team.latencies.filter((s) => s.timeMs >= oldestMs)
        let requests = 0
        const sums = emptySums()
        for (const slot of team.slots) {
          if (slot.index <= newest - buckets || slot.index > newest) continue
          requests += slot.requests
          addTo(sums, slot.sums)
        }
        return { key, team, requests, sums }
      })
      const windowTotal = windows.reduce((n, w) => n + w.requests, 0)
      return windows
        .map(({ key, team, requests, sums }) => summarize(key, team, newest, nowMs, requests, sums, windowTotal))
        .sort((a, b) => b.requests - a.requests || b.totalRequests - a.totalRequests || a.key.localeCompare(b.key))
    },
  }
}
