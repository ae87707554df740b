/** The gateway configs under test. */
import { EXPLICIT_MODEL, HOLD_MODEL, SLOW_ROUTE, TTFB_MODEL } from './scenarios.ts'

export interface GatewayVariant {
  /** Column name: `default`, `cache+otel`, `cache`. */
  readonly name: string
  readonly description: string
  readonly plugins?: readonly { use: string; options?: Record<string, unknown> }[]
}

export interface Upstreams {
  readonly fast: string
  readonly slow: string
  readonly otlp: string
}

/** The three configs: the built-in defaults, plus `memory-cache` and `otel` exporting to the sink, plus the cache alone. */
export function gatewayVariants(up: Upstreams): readonly GatewayVariant[] {
  const cache = { use: 'memory-cache' }
  const otel = { use: 'otel', options: { endpoint: up.otlp } }
  return [
    { name: 'default', description: 'no `plugins` key: the built-in defaults for every kind' },
    { name: 'cache+otel', description: 'default + memory-cache + otel', plugins: [cache, otel] },
    { name: 'cache', description: 'default + memory-cache, tracing off', plugins: [cache] },
  ]
}

/** Routes are explicit so `auto` never picks the slow simulator's models; plugin kinds left out get the defaults. */
export function gatewayConfig(variant: GatewayVariant, up: Upstreams, port: number): Record<string, unknown> {
  const config = {
    server: { host: '127.0.0.1', port },
    backends: [
      { name: 'sim', kind: 'ollama', url: up.fast },
      { name: 'slow', kind: 'ollama', url: up.slow },
    ],
    models: { [TTFB_MODEL]: { backends: ['slow'] }, [HOLD_MODEL]: { backends: ['slow'] } },
    routes: {
      auto: { SIMPLE: [EXPLICIT_MODEL], MODERATE: ['qwen2.5-coder:7b', EXPLICIT_MODEL], COMPLEX: ['deepseek-coder:33b', 'qwen2.5-coder:7b'] },
      [SLOW_ROUTE]: { SIMPLE: [TTFB_MODEL], MODERATE: [TTFB_MODEL], COMPLEX: [TTFB_MODEL] },
    },
    ...(variant.plugins ? { plugins: variant.plugins } : {}),
  }
  // Keep the breaker out of the measurement: an upstream hiccup under saturation must not turn the rest of a run
  // into fast 503s. (wrk's hang-ups at the end of a run are cancellations, which never count as failures.)
  return { ...config, health: { failureThreshold: 1_000_000 } }
}
