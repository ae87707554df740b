/** The text form of a retrain's before/after figures, shared by `train --history` and `eval --adapt`. */
import { TASK_CLASSES } from 'switchyard/plugin'

type Figures = Readonly<Record<string, unknown>>

const at = (f: Figures, path: string): unknown => path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], f)
const num = (x: unknown) => (typeof x === 'number' ? x.toFixed(3) : '-')
const count = (x: unknown) => (typeof x === 'number' ? String(x) : '-')
const shares = (x: unknown) => (x && typeof x === 'object' ? TASK_CLASSES.map((c) => `${((x as Record<string, number>)[c]! * 100).toFixed(1)}%`).join(' / ') : '-')
const list = (x: unknown) => (Array.isArray(x) ? x.map((b: number) => b.toFixed(2)).join(' ') : '-')

const ROWS: readonly (readonly [string, string, (x: unknown) => string])[] = [
  ['corrections used', 'corrections.n', count],
  ['accuracy on the corrections (after: grouped CV)', 'corrections.accuracy', num],
  ['  on the ones not trained on before', 'corrections.newAccuracy', num],
  ['  answered by the correction memory', 'corrections.answeredByMemory', count],
  ['ECE on the corrections', 'ece.corrections', num],
  ['kept shipped rows', 'keptShipped.rows', count],
  ['  left out (near a correction)', 'keptShipped.leftOut', count],
  ['  macro-F1, held out (before: no corrections)', 'keptShipped.macroF1', num],
  ['  macro-F1, fit (the version on its own rows)', 'keptShipped.fitMacroF1', num],
  ['  ECE, held out', 'ece.keptShipped', num],
  ['class shares S/M/C, corrections', 'shares.corrections', shares],
  ['class shares S/M/C, kept shipped rows', 'shares.keptShipped', shares],
  ['class shares S/M/C, every shipped row', 'shares.shipped', shares],
  ['class bias S M C', 'classBias', list],
  ['temperature', 'temperature', num],
  ['memory families', 'memoryFamilies', count],
]

/** A table of every figure, before and after, then the labels by source and the reason. */
export function formatRetrain(r: { readonly promoted: boolean; readonly reason: string; readonly before: Figures; readonly after: Figures }): string {
  const width = 48
  const head = `${'figure'.padEnd(width)} ${String(r.before.version ?? 'before').padStart(24)} ${String(r.after.version ?? 'candidate').padStart(24)}`
  const lines = [head, ...ROWS.map(([name, path, show]) => `${name.padEnd(width)} ${show(at(r.before, path)).padStart(24)} ${show(at(r.after, path)).padStart(24)}`)]
  const labels = (r.after.labels ?? r.before.labels) as { bySource?: Record<string, number> } | Record<string, number> | undefined
  const bySource = labels && 'bySource' in labels ? labels.bySource : (labels as Record<string, number> | undefined)
  if (bySource) lines.push(`labels by source: ${Object.entries(bySource).filter(([, n]) => n > 0).map(([s, n]) => `${s} ${n}`).join(', ') || 'none'}`)
  lines.push(`${r.promoted ? 'PROMOTED' : 'NOT PROMOTED'}: ${r.reason}`)
  return lines.join('\n')
}
