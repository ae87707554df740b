/** Turn Ollama's /api/tags and /api/ps bodies into the contract's ModelInfo and LoadedModel. */
import * as v from 'valibot'
import type { LoadedModel, ModelInfo } from 'switchyard/plugin'

const Details = v.looseObject({
  family: v.nullish(v.string()),
  parameter_size: v.nullish(v.string()),
  quantization_level: v.nullish(v.string()),
  context_length: v.nullish(v.number()),
})

const TagsBody = v.looseObject({
  models: v.array(v.looseObject({
    name: v.nullish(v.string()),
    model: v.nullish(v.string()),
    size: v.nullish(v.number()),
    details: v.nullish(Details),
  })),
})

const PsBody = v.looseObject({
  models: v.array(v.looseObject({
    name: v.nullish(v.string()),
    model: v.nullish(v.string()),
    size_vram: v.nullish(v.number()),
    expires_at: v.nullish(v.string()),
  })),
})

const SCALE: Readonly<Record<string, number>> = { K: 1e3, M: 1e6, B: 1e9, T: 1e12 }

/** "1.5B" → 1.5e9, "334M" → 3.34e8, "8x7B" → 5.6e10; undefined when it is not a size. */
export function parseParameterSize(size: string): number | undefined {
  const m = /^\s*(?:(\d+)\s*x\s*)?(\d+(?:\.\d+)?)\s*([KMBT])\s*$/i.exec(size)
  if (!m?.[2] || !m[3]) return undefined
  const experts = m[1] ? Number(m[1]) : 1
  // Rounded: 70.6 * 1e9 is not exactly 70600000000 in floating point.
  const scale = SCALE[m[3].toUpperCase()] ?? 1
  return Math.round(experts * Number(m[2]) * scale)
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string }

export function parseTags(body: unknown): Parsed<ModelInfo[]> {
  const parsed = v.safeParse(TagsBody, body)
  if (!parsed.success) return { ok: false, error: `unexpected body: ${parsed.issues[0].message}` }
  const models: ModelInfo[] = []
  for (const m of parsed.output.models) {
    const name = m.name ?? m.model
    if (!name) continue
    const d = m.details
    const parameterSize = d?.parameter_size || undefined
    models.push(compact({
      name,
      parameterSize,
      parameters: parameterSize === undefined ? undefined : parseParameterSize(parameterSize),
      quantization: d?.quantization_level || undefined,
      sizeBytes: m.size ?? undefined,
      family: d?.family || undefined,
      contextLength: d?.context_length ?? undefined,
    }))
  }
  return { ok: true, value: models }
}

export function parsePs(body: unknown): Parsed<LoadedModel[]> {
  const parsed = v.safeParse(PsBody, body)
  if (!parsed.success) return { ok: false, error: `unexpected body: ${parsed.issues[0].message}` }
  const loaded: LoadedModel[] = []
  for (const m of parsed.output.models) {
    const name = m.name ?? m.model
    if (!name) continue
    loaded.push(compact({ name, sizeVramBytes: m.size_vram ?? undefined, expiresAt: m.expires_at ?? undefined }))
  }
  return { ok: true, value: loaded }
}

/** Drop undefined fields so reports stay small and compare cleanly. */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)) as T
}
