/** The gateway configs under test, built from what the built-in plugin registry holds at run time. */
import * as v from 'valibot'
import { builtinPlugins } from '../plugins/index.ts'
import { ConfigFile } from '../src/config/schema.ts'
import { EXPLICIT_MODEL, HOLD_MODEL, TTFB_MODEL } from './scenarios.ts'

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

/** A built-in plugin entry when the registry has it and the options validate; else why not. */
function entry(name: string, options: Record<string, unknown>): { use: string; options: Record<string, unknown> } | string {
  const def = builtinPlugins.get(name)
  if (!def) return `${name}: not in plugins/index.ts`
  const parsed = v.safeParse(def.options, options)
  if (!parsed.success) return `${name}: options ${JSON.stringify(options)} rejected (${parsed.issues.map((i) => i.message).join('; ')})`
  return { use: name, options }
}

export interface Variants {
  readonly variants: readonly GatewayVariant[]
  /** Plugins the issue asks for that this tree does not have (yet). */
  readonly missing: readonly string[]
}

export function gatewayVariants(up: Upstreams): Variants {
  const missing: string[] = []
  const keep = (e: ReturnType<typeof entry>) => {
    if (typeof e === 'string') missing.push(e)
    return typeof e === 'string' ? [] : [e]
  }
  const cache = keep(entry('memory-cache', {}))
  const otel = keep(entry('otel', { endpoint: up.otlp }))
  return {
    missing,
    variants: [
      { name: 'default', description: 'no `plugins` key: the built-in defaults for every kind' },
      { name: 'cache+otel', description: `default + ${[...cache, ...otel].map((p) => p.use).join(' + ') || 'nothing (plugins missing)'}`, plugins: [...cache, ...otel] },
      { name: 'cache', description: `default + ${cache.map((p) => p.use).join(' + ') || 'nothing (plugin missing)'}, tracing off`, plugins: cache },
    ],
  }
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
    },
    ...(variant.plugins ? { plugins: variant.plugins } : {}),
  }
  // wrk hangs up on in-flight requests when a run ends and the gateway counts those as backend failures,
  // which would open the circuit for the next run; keep the breaker out of the measurement where config allows.
  const calm = { ...config, health: { failureThreshold: 1_000_000 } }
  return v.safeParse(ConfigFile, calm).success ? calm : config
}
