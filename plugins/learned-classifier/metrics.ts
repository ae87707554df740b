/** The few classification figures a retrain decides on: accuracy, macro-F1 over the classes present, class shares. */
import { TASK_CLASSES } from 'switchyard/plugin'
import type { TaskClass } from 'switchyard/plugin'

const round = (x: number) => Math.round(x * 1e4) / 1e4

export function accuracy(gold: readonly TaskClass[], predicted: readonly TaskClass[]): number {
  return gold.length === 0 ? 0 : round(gold.filter((g, i) => g === predicted[i]).length / gold.length)
}

/** Mean F1 over the gold classes present (a single-class subset is not penalized for the classes it lacks). */
export function macroF1(gold: readonly TaskClass[], predicted: readonly TaskClass[]): number {
  const present = TASK_CLASSES.filter((c) => gold.includes(c))
  if (present.length === 0) return 0
  let sum = 0
  for (const c of present) {
    let tp = 0
    let fp = 0
    let fn = 0
    gold.forEach((g, i) => {
      if (predicted[i] === c && g === c) tp++
      else if (predicted[i] === c) fp++
      else if (g === c) fn++
    })
    sum += tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn)
  }
  return round(sum / present.length)
}

/** Share of each class among `labels` (predictions or gold labels). */
export function classShares(labels: readonly TaskClass[]): Record<TaskClass, number> {
  return Object.fromEntries(TASK_CLASSES.map((c) => [c, labels.length === 0 ? 0 : round(labels.filter((l) => l === c).length / labels.length)])) as Record<TaskClass, number>
}
