/** What routing saved and spent on GPUs, with audits and escalations: totals since start and over the last hour. */
import type { PipelineEvent } from 'switchyard/plugin'

/** The savings panel's window: the last hour, kept in one-minute slots so memory does not grow with traffic. */
export const SAVINGS_WINDOW_MS = 3_600_000
const SLOT_MS = 60_000
const SLOTS = SAVINGS_WINDOW_MS / SLOT_MS

interface Tally {
  requests: number
  routed: number
  /** Requests that went through draft and audit: a draft was audited, or it failed before its audit. */
  audited: number
  escalated: number
  savedGpuSeconds: number
  spentGpuSeconds: number
  rejectedGpuSeconds: number
  cancelledGpuSeconds: number
  checksGpuSeconds: number
  pass: number
  fail: number
  skipped: number
}

/** One period's figures as the endpoints serve them; `cost*` are null without `costPerGpuHour`. */
export interface SavingsFigures {
  readonly requests: number
  readonly routed: number
  readonly audited: number
  readonly escalated: number
  /** Net: requests that cost more than the route's largest model would have count negative. */
  readonly gpuSecondsSaved: number
  readonly costSaved: number | null
  /** Every generation's GPU time plus the checks' (classifier and judge model calls). */
  readonly gpuSecondsSpent: number
  readonly costSpent: number | null
  readonly gpuSecondsWasted: { readonly rejected: number; readonly cancelled: number; readonly checks: number; readonly total: number }
  /** Escalated answers per audited request and per routed request; null with nothing to divide by. */
  readonly escalationRate: { readonly audited: number | null; readonly routed: number | null }
  readonly audits: { readonly pass: number; readonly fail: number; readonly skipped: number }
}

export interface SavingsSummary {
  readonly windowMs: number
  readonly costPerGpuHour: number | null
  readonly lastHour: SavingsFigures
  readonly sinceStart: SavingsFigures
}

export interface Savings {
  /** A request's final event. */
  add(event: PipelineEvent): void
  /** Money at `costPerGpuHour` as it is now, so a reload that changes the price reprices the kept seconds. */
  summary(nowMs: number, costPerGpuHour: number | undefined): SavingsSummary
}

const emptyTally = (): Tally => ({
  requests: 0, routed: 0, audited: 0, escalated: 0, savedGpuSeconds: 0, spentGpuSeconds: 0,
  rejectedGpuSeconds: 0, cancelledGpuSeconds: 0, checksGpuSeconds: 0, pass: 0, fail: 0, skipped: 0,
})

const KEYS = Object.keys(emptyTally()) as (keyof Tally)[]
// Sums of floating seconds pick up noise in the last digits; a microsecond is below any GPU timing we get.
const round = (x: number) => Math.round(x * 1e6) / 1e6
const rate = (n: number, of: number) => (of === 0 ? null : round(n / of))

function count(t: Tally, e: PipelineEvent): void {
  t.requests++
  if (e.route) t.routed++
  if ((e.audits?.length ?? 0) > 0 || e.escalation) t.audited++
  if (e.escalation) t.escalated++
  t.savedGpuSeconds += e.gpuSecondsSaved ?? 0
  for (const use of e.gpu ?? []) {
    t.spentGpuSeconds += use.seconds
    if (use.role === 'rejected') t.rejectedGpuSeconds += use.seconds
    else if (use.role === 'cancelled') t.cancelledGpuSeconds += use.seconds
  }
  t.spentGpuSeconds += e.overheadGpuSeconds ?? 0
  t.checksGpuSeconds += e.overheadGpuSeconds ?? 0
  for (const a of e.audits ?? []) t[a.outcome]++
}

function figures(t: Tally, costPerGpuHour: number | undefined): SavingsFigures {
  const money = (seconds: number) => (costPerGpuHour === undefined ? null : round((seconds * costPerGpuHour) / 3600))
  const wasted = t.rejectedGpuSeconds + t.cancelledGpuSeconds + t.checksGpuSeconds
  return {
    requests: t.requests,
    routed: t.routed,
    audited: t.audited,
    escalated: t.escalated,
    gpuSecondsSaved: round(t.savedGpuSeconds),
    costSaved: money(t.savedGpuSeconds),
    gpuSecondsSpent: round(t.spentGpuSeconds),
    costSpent: money(t.spentGpuSeconds),
    gpuSecondsWasted: { rejected: round(t.rejectedGpuSeconds), cancelled: round(t.cancelledGpuSeconds), checks: round(t.checksGpuSeconds), total: round(wasted) },
    escalationRate: { audited: rate(t.escalated, t.audited), routed: rate(t.escalated, t.routed) },
    audits: { pass: t.pass, fail: t.fail, skipped: t.skipped },
  }
}

export function createSavings(): Savings {
  const total = emptyTally()
  /** Slot `i` holds the minute `minute` with `minute % SLOTS === i`; a stale minute is cleared when reused. */
  const slots = Array.from({ length: SLOTS }, () => ({ minute: -1, tally: emptyTally() }))

  return {
    add(event) {
      count(total, event)
      const minute = Math.floor(event.timeMs / SLOT_MS)
      const slot = slots[minute % SLOTS]!
      if (slot.minute !== minute) {
        // An event older than the minute the slot holds now is already outside the window.
        if (minute < slot.minute) return
        slot.minute = minute
        slot.tally = emptyTally()
      }
      count(slot.tally, event)
    },
    summary(nowMs, costPerGpuHour) {
      // The current minute and the SLOTS - 1 before it: the last hour, in whole minutes.
      const newest = Math.floor(nowMs / SLOT_MS)
      const hour = emptyTally()
      for (const { minute, tally } of slots) {
        if (minute > newest - SLOTS && minute <= newest) for (const k of KEYS) hour[k] += tally[k]
      }
      return {
        windowMs: SAVINGS_WINDOW_MS,
        costPerGpuHour: costPerGpuHour ?? null,
        lastHour: figures(hour, costPerGpuHour),
        sinceStart: figures(total, costPerGpuHour),
      }
    },
  }
}
