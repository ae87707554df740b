/** The built-in selector: walk the candidates in order; per model, rank healthy backends that serve it. */
import * as v from 'valibot'
import { definePlugin, estimatePromptTokens } from 'switchyard/plugin'
import type { BackendView, ChatRequest, SelectionOption } from 'switchyard/plugin'
import { rankBackends, vramMisfit } from './rank.ts'

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
    select({ candidates, backends, request }) {
      const promptTokens = estimateTokens(request)
      const options_: (SelectionOption & { why: () => string })[] = []
      const skipped: string[] = []
      const index = servingIndex(backends)
      for (const model of candidates) {
        const serving = index.get(model) ?? NONE
        if (serving.length === 0) {
          skipped.push(`${model}: on no backend`)
          continue
        }
        const usable: BackendView[] = []
        for (const b of serving) {
          const why = unusable(b, model, options.allowUnknown) ?? contextMisfit(b, model, promptTokens)
          if (why) skipped.push(`${model}@${b.name}: ${why}`)
          else usable.push(b)
        }
        for (const ranked of rankBackends(usable, model)) options_.push({ model, backend: ranked.backend.name, why: ranked.why })
        if (options_.length >= options.maxOptions) break
      }
      const [first, ...rest] = options_
      if (!first) return undefined
      return {
        model: first.model,
        backend: first.backend,
        reasons: [`${first.model}@${first.backend}: ${first.why()}`, ...skipped],
        fallbacks: rest.slice(0, options.maxOptions - 1).map(({ model, backend }) => ({ model, backend })),
      }
    },
  }),
})

const NONE: readonly BackendView[] = []
/** The backends serving each model, per snapshot: the core rebuilds the views only when a probe reports. */
const indexes = new WeakMap<readonly BackendView[], Map<string, BackendView[]>>()

function servingIndex(backends: readonly BackendView[]): Map<string, BackendView[]> {
  let index = indexes.get(backends)
  if (index) return index
  index = new Map()
  for (const b of backends) {
    for (const m of b.models) {
      const list = index.get(m.name)
      if (!list) index.set(m.name, [b])
      else if (!list.includes(b)) list.push(b)
    }
  }
  indexes.set(backends, index)
  return index
}

/** Prompt plus the output cap, at about four characters a token: enough to tell a 2k-token prompt from a 32k one. */
function estimateTokens(request: ChatRequest): number {
  return estimatePromptTokens(request) + (request.maxTokens ?? 0)
}

function contextMisfit(b: BackendView, model: string, tokens: number): string | undefined {
  const context = b.models.find((m) => m.name === model)?.contextLength
  return context !== undefined && tokens > context ? `prompt of ~${tokens} tokens exceeds its ${context}-token context` : undefined
}

function unusable(b: BackendView, model: string, allowUnknown: boolean): string | undefined {
  if (b.up === false) return 'down'
  if (b.up === undefined && !allowUnknown) return 'health unknown'
  if (b.circuit === 'open') return 'circuit open'
  if (b.openModels.includes(model)) return 'circuit open for this model'
  const misfit = vramMisfit(b, model)
  return misfit ? `does not fit in free VRAM (${misfit})` : undefined
}
