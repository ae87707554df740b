/** Turn an OpenAI-compatible /v1/models body (vLLM, llama.cpp, others) into the contract's ModelInfo. */
import * as v from 'valibot'
import type { ModelInfo } from 'switchyard/plugin'

const ModelsBody = v.looseObject({
  data: v.array(v.looseObject({
    id: v.string(),
    // vLLM
    max_model_len: v.nullish(v.number()),
    // llama.cpp; null while the model is loading
    meta: v.nullish(v.looseObject({
      n_params: v.nullish(v.number()),
      size: v.nullish(v.number()),
    })),
  })),
})

const SCALE: Readonly<Record<string, number>> = { M: 1e6, B: 1e9, T: 1e12 }

/**
 * Parameter count from a model name: "Qwen2.5-Coder-7B-Instruct" → 7e9, "SmolLM2-135M" → 1.35e8,
 * "Mixtral-8x7B" → 5.6e10. The first size token wins, so "Qwen3-30B-A3B" is 30e9 (A3B is active params).
 */
export function parseParametersFromName(name: string): { parameters: number; parameterSize: string } | undefined {
  const m = /(?:^|[^a-z0-9.])(?:(\d+)x)?(\d+(?:\.\d+)?)([mbt])(?![a-z0-9])/i.exec(name)
  if (!m?.[2] || !m[3]) return undefined
  const experts = m[1] ? Number(m[1]) : 1
  const unit = m[3].toUpperCase()
  const parameters = Math.round(experts * Number(m[2]) * (SCALE[unit] ?? 1))
  return { parameters, parameterSize: `${m[1] ? `${m[1]}x` : ''}${m[2]}${unit}` }
}

const QUANT = /(?:^|[^a-z0-9])(i?q\d(?:_[a-z0-9]+)*|bf16|f16|fp16|fp8|awq|gptq|int4|int8|w4a16|w8a8)(?![a-z0-9])/i

export function parseQuantizationFromName(name: string): string | undefined {
  return QUANT.exec(name)?.[1]?.toUpperCase()
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string }

export function parseModels(body: unknown): Parsed<ModelInfo[]> {
  const parsed = v.safeParse(ModelsBody, body)
  if (!parsed.success) return { ok: false, error: `unexpected body: ${parsed.issues[0].message}` }
  return {
    ok: true,
    value: parsed.output.data.map((m) => {
      const fromName = parseParametersFromName(m.id)
      const parameters = m.meta?.n_params ?? fromName?.parameters
      const info: ModelInfo = {
        name: m.id,
        ...(fromName ? { parameterSize: fromName.parameterSize } : {}),
        ...(parameters !== undefined ? { parameters } : {}),
        ...(m.meta?.size != null ? { sizeBytes: m.meta.size } : {}),
        ...(m.max_model_len != null ? { contextLength: m.max_model_len } : {}),
      }
      const quantization = parseQuantizationFromName(m.id)
      return quantization ? { ...info, quantization } : info
    }),
  }
}
