/** Server-side load (running, waiting, KV-cache use) from vLLM or llama.cpp Prometheus samples. */
import type { Sample } from './prometheus-text.ts'

export interface ServerLoad {
  readonly running?: number
  readonly waiting?: number
  readonly kvCacheUsage?: number
}

const RUNNING = ['vllm:num_requests_running', 'llamacpp:requests_processing'] as const
const WAITING = ['vllm:num_requests_waiting', 'llamacpp:requests_deferred'] as const
// vLLM renamed gpu_cache_usage_perc to kv_cache_usage_perc (0.9) and later removed the old name.
const KV_CACHE = ['vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc', 'llamacpp:kv_cache_usage_ratio'] as const

export function readLoad(samples: readonly Sample[]): ServerLoad {
  const running = first(RUNNING, (name) => aggregate(samples, name, (a, b) => a + b))
  const waiting = first(WAITING, (name) => aggregate(samples, name, (a, b) => a + b))
  // A ratio summed over engines could pass 1; the fullest engine is what limits admission.
  const kvCacheUsage = first(KV_CACHE, (name) => aggregate(samples, name, Math.max))
  return {
    ...(running !== undefined ? { running } : {}),
    ...(waiting !== undefined ? { waiting } : {}),
    ...(kvCacheUsage !== undefined ? { kvCacheUsage } : {}),
  }
}

function first(names: readonly string[], read: (name: string) => number | undefined): number | undefined {
  for (const name of names) {
    const value = read(name)
    if (value !== undefined) return value
  }
  return undefined
}

/** Combines every label set of one metric; NaN and infinite samples are unknowns, not values. */
function aggregate(samples: readonly Sample[], name: string, combine: (a: number, b: number) => number): number | undefined {
  let result: number | undefined
  for (const s of samples) {
    if (s.name !== name || !Number.isFinite(s.value)) continue
    result = result === undefined ? s.value : combine(result, s.value)
  }
  return result
}
