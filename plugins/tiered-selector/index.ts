/** The built-in selector: walk the candidates in order; per model, rank healthy backends that serve it. */
import * as v from 'valibot'
import { definePlugin } from 'switchyard/plugin'
import type { BackendView, SelectionOption } from 'switchyard/plugin'
import { rankBackends } from './rank.ts'

export default definePlugin({
  name: 'tiered-selector',
  kind: 'selector',
  options: v.strictObject({
    /** Try backends whose health is not known yet (never probed) after the known-healthy ones. */
    allowUnknown: v.optional(v.boolean(), true),
    /** Options (model, backend) handed to the core for fallback, the first included. */
    maxOptions: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 4),
  }),
  setup: ({ options }) => ({
    select({ candidates, backends }) {
      const options_: (SelectionOption & { why: string })[] = []
      const skipped: string[] = []
      for (const model of candidates) {
        const serving = backends.filter((b) => b.models.some((m) => m.name === model))
        if (serving.length === 0) {
          skipped.push(`${model}: on no backend`)
          continue
        }
        const usable = serving.filter((b) => isUsable(b, options.allowUnknown))
        for (const b of serving) if (!usable.includes(b)) skipped.push(`${model}@${b.name}: ${b.up === false ? 'down' : 'circuit open'}`)
        for (const ranked of rankBackends(usable, model)) options_.push({ model, backend: ranked.backend.name, why: ranked.why })
        if (options_.length >= options.maxOptions) break
      }
      const [first, ...rest] = options_
      if (!first) return undefined
      return {
        model: first.model,
        backend: first.backend,
        reasons: [`${first.model}@${first.backend}: ${first.why}`, ...skipped],
        fallbacks: rest.slice(0, options.maxOptions - 1).map(({ model, backend }) => ({ model, backend })),
      }
    },
  }),
})

function isUsable(b: BackendView, allowUnknown: boolean): boolean {
  if (b.circuit === 'open') return false
  return b.up === true || (allowUnknown && b.up === undefined)
}
