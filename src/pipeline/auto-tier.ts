/** The `auto` route built from discovered models by size, when the config defines no routes. */
import type { RouteConfig } from '../config/schema.ts'
import type { BackendView, ModelInfo, TaskClass } from '../plugin/types.ts'

const SIMPLE_BELOW = 3e9
const MODERATE_BELOW = 15e9

/** Parameter count from `details.parameter_size` ("1.5B", "334M") or the model tag ("qwen2.5-coder:7b"). */
export function parameterCount(model: ModelInfo): number | undefined {
  if (model.parameters) return model.parameters
  const fromSize = model.parameterSize?.match(/^([\d.]+)\s*([KMBT])/i)
  const fromName = model.name.match(/[:\-_](\d+(?:\.\d+)?)([mb])\b/i)
  const m = fromSize ?? fromName
  if (!m) return undefined
  const scale: Record<string, number> = { K: 1e3, M: 1e6, B: 1e9, T: 1e12 }
  return Number(m[1]) * (scale[(m[2] ?? 'B').toUpperCase()] ?? 1e9)
}

export function tierOf(params: number): TaskClass {
  return params < SIMPLE_BELOW ? 'SIMPLE' : params < MODERATE_BELOW ? 'MODERATE' : 'COMPLEX'
}

const isEmbedding = (m: ModelInfo) => /embed|bge|minilm|e5-/i.test(m.name)
const isCoder = (m: ModelInfo) => /code|coder|starcoder|codestral|deepseek/i.test(m.name)

/** Each class lists its own tier first (coder models, then larger ones first), then the nearest tiers. */
export function buildAutoRoute(views: readonly BackendView[]): { route: RouteConfig; table: { model: string; params?: number; tier: TaskClass }[] } | undefined {
  const seen = new Map<string, ModelInfo>()
  for (const b of views) for (const m of b.models) if (!isEmbedding(m) && !seen.has(m.name)) seen.set(m.name, m)
  if (seen.size === 0) return undefined
  const table = [...seen.values()].map((m) => {
    const params = parameterCount(m)
    return { model: m.name, params, tier: params === undefined ? ('MODERATE' as const) : tierOf(params), coder: isCoder(m) }
  })
  const byTier = (tier: TaskClass) =>
    table.filter((t) => t.tier === tier).toSorted((a, b) => Number(b.coder) - Number(a.coder) || (a.params ?? 0) - (b.params ?? 0)).map((t) => t.model)
  const simple = byTier('SIMPLE')
  const moderate = byTier('MODERATE')
  const complex = byTier('COMPLEX')
  const route: RouteConfig = {
    SIMPLE: [...simple, ...moderate, ...complex],
    MODERATE: [...moderate, ...complex.toReversed(), ...simple.toReversed()],
    COMPLEX: [...complex.toReversed(), ...moderate.toReversed(), ...simple.toReversed()],
    default: 'MODERATE',
    affinity: true,
  }
  return { route, table: table.map(({ model, params, tier }) => ({ model, params, tier })) }
}
