/** Classification metrics (accuracy, macro-F1, per class and source, confusion, routed share, latency) and their text form. */
import { TASK_CLASSES } from 'switchyard/plugin'
import type { TaskClass } from 'switchyard/plugin'
import { percentile as nearestRank } from '../plugins/dashboard/aggregates.ts'

export interface Prediction {
  readonly label: TaskClass
  readonly predicted: TaskClass
  readonly source: string
}

export interface ClassMetrics { precision: number; recall: number; f1: number; support: number }

export interface Report {
  n: number
  accuracy: number
  macro_f1: number
  per_class: Record<TaskClass, ClassMetrics>
  per_source: Record<string, { n: number; accuracy: number; macro_f1: number }>
  /** confusion[gold][predicted] */
  confusion: Record<TaskClass, Record<TaskClass, number>>
  routed_share: Record<TaskClass, number>
  latency_us: { p50: number; p99: number }
}

const round = (x: number, digits = 4) => Math.round(x * 10 ** digits) / 10 ** digits

/** The nearest-rank percentile of unsorted values (the dashboard's rank rule), 0 for none. */
export function percentile(values: readonly number[], p: number): number {
  return nearestRank(values.toSorted((a, b) => a - b), p) ?? 0
}

/** Per-class metrics over `classes` (the gold classes present, so single-label subsets are not penalized twice). */
function scoreClasses(preds: readonly Prediction[], classes: readonly TaskClass[]) {
  const per = {} as Record<TaskClass, ClassMetrics>
  for (const c of TASK_CLASSES) {
    const tp = preds.filter((p) => p.label === c && p.predicted === c).length
    const predicted = preds.filter((p) => p.predicted === c).length
    const support = preds.filter((p) => p.label === c).length
    const precision = predicted === 0 ? 0 : tp / predicted
    const recall = support === 0 ? 0 : tp / support
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall)
    per[c] = { precision: round(precision), recall: round(recall), f1: round(f1), support }
  }
  const macro = classes.length === 0 ? 0 : classes.reduce((s, c) => s + per[c].f1, 0) / classes.length
  const accuracy = preds.length === 0 ? 0 : preds.filter((p) => p.label === p.predicted).length / preds.length
  return { per, macro: round(macro), accuracy: round(accuracy) }
}

export function computeReport(preds: readonly Prediction[], latenciesUs: readonly number[]): Report {
  const present = (ps: readonly Prediction[]) => TASK_CLASSES.filter((c) => ps.some((p) => p.label === c))
  const all = scoreClasses(preds, present(preds))
  const confusion = Object.fromEntries(TASK_CLASSES.map((g) => [g, Object.fromEntries(TASK_CLASSES.map((p) => [p, 0]))])) as Report['confusion']
  for (const p of preds) confusion[p.label][p.predicted]++
  const sources = [...new Set(preds.map((p) => p.source))].sort()
  const per_source = Object.fromEntries(sources.map((s) => {
    const ps = preds.filter((p) => p.source === s)
    const r = scoreClasses(ps, present(ps))
    return [s, { n: ps.length, accuracy: r.accuracy, macro_f1: r.macro }]
  }))
  const routed_share = Object.fromEntries(
    TASK_CLASSES.map((c) => [c, round(preds.length === 0 ? 0 : preds.filter((p) => p.predicted === c).length / preds.length)]),
  ) as Record<TaskClass, number>
  return {
    n: preds.length, accuracy: all.accuracy, macro_f1: all.macro, per_class: all.per, per_source, confusion, routed_share,
    latency_us: { p50: round(percentile(latenciesUs, 50), 1), p99: round(percentile(latenciesUs, 99), 1) },
  }
}

const pad = (s: string | number, n: number) => String(s).padStart(n)

/** A human-readable rendering of a report, one section per block. */
export function formatReport(title: string, r: Report): string {
  const lines = [`== ${title} (n=${r.n})`, `accuracy ${r.accuracy.toFixed(3)}  macro-F1 ${r.macro_f1.toFixed(3)}`, '', 'class      precision  recall     f1  support']
  for (const c of TASK_CLASSES) {
    const m = r.per_class[c]
    lines.push(`${c.padEnd(9)} ${pad(m.precision.toFixed(3), 10)} ${pad(m.recall.toFixed(3), 7)} ${pad(m.f1.toFixed(3), 6)} ${pad(m.support, 8)}`)
  }
  lines.push('', `confusion (rows gold, cols predicted)  ${TASK_CLASSES.map((c) => pad(c, 9)).join('')}`)
  for (const g of TASK_CLASSES) lines.push(`${g.padEnd(38)} ${TASK_CLASSES.map((p) => pad(r.confusion[g][p], 9)).join('')}`)
  lines.push('', 'source                              n  accuracy  macro-F1')
  for (const [s, m] of Object.entries(r.per_source)) {
    lines.push(`${s.slice(0, 32).padEnd(32)} ${pad(m.n, 4)} ${pad(m.accuracy.toFixed(3), 9)} ${pad(m.macro_f1.toFixed(3), 9)}`)
  }
  lines.push('', `routed share  ${TASK_CLASSES.map((c) => `${c} ${(r.routed_share[c] * 100).toFixed(1)}%`).join('  ')}`)
  lines.push(`latency per prompt  p50 ${r.latency_us.p50} us  p99 ${r.latency_us.p99} us`, '')
  return lines.join('\n')
}
