/**
 * GPU time per generation and what routing saved against the route's largest model.
 *
 * A generation's GPU time is the backend's own figure where it reports one (Ollama's `prompt_eval_duration` +
 * `eval_duration`); otherwise its tokens at the model's observed speed (seconds per prompt token and per output
 * token, learned from earlier answers: Ollama's figures, or an OpenAI-kind stream's time to first token and the
 * rest); with no speed observed yet, its wall time. The counterfactual of a routed answer is the same tokens on
 * the route's largest model at that model's observed speed, or, never observed, at the answering model's speed
 * scaled by their parameter counts (decoding is memory-bound: time grows with the weights read per token).
 */
import type { RouteConfig } from '../config/schema.ts'
import { TASK_CLASSES } from '../plugin/types.ts'
import type { BackendView, GpuUse, ModelInfo } from '../plugin/types.ts'
import { parameterCount } from './auto-tier.ts'

/** What one finished (or cancelled) generation tells about its GPU time. */
export interface GenerationFigures {
  readonly inputTokens?: number
  readonly outputTokens?: number
  /** Ollama's own timings, in seconds. */
  readonly promptSeconds?: number
  readonly evalSeconds?: number
  /** From the attempt's start to its end (or its cancellation). */
  readonly wallSeconds: number
  /** From the attempt's start to its first byte, for a stream. */
  readonly firstByteSeconds?: number
  /** Cut before its end: its time is the wall time, and it teaches nothing about speed. */
  readonly cancelled?: boolean
}

/** Seconds per prompt token and per output token, as moving averages. */
interface Speed {
  prompt: number
  decode: number
  samples: number
}

/** Weight of a new sample in the moving averages. */
const ALPHA = 0.2
/** Models whose speed is tracked (bounded: names come from config and discovery). */
const MAX_MODELS = 1_000

export interface GpuClock {
  /** The GPU seconds of one generation of `model`; learns the model's speed from it. */
  measure(model: string, figures: GenerationFigures): number
  /**
   * The GPU seconds `model` would have spent on `inputTokens` + `outputTokens`: its observed speed, else `reference`'s
   * speed scaled by parameter counts; undefined when neither is known.
   */
  estimate(model: string, inputTokens: number, outputTokens: number, reference?: { readonly model: string }, views?: readonly BackendView[]): number | undefined
  /** The models' observed speeds, for /health and tests. */
  speeds(): Record<string, { promptSecondsPerToken: number; decodeSecondsPerToken: number; samples: number }>
}

function observe(speeds: Map<string, Speed>, model: string, prompt: number | undefined, decode: number | undefined): void {
  if (prompt === undefined && decode === undefined) return
  const s = speeds.get(model)
  if (!s) {
    if (speeds.size >= MAX_MODELS) speeds.delete(speeds.keys().next().value!)
    speeds.set(model, { prompt: prompt ?? 0, decode: decode ?? 0, samples: 1 })
    return
  }
  if (prompt !== undefined) s.prompt += ALPHA * (prompt - s.prompt)
  if (decode !== undefined) s.decode += ALPHA * (decode - s.decode)
  s.samples++
}

const positive = (n: number | undefined): n is number => n !== undefined && Number.isFinite(n) && n > 0

export function createGpuClock(): GpuClock {
  const speeds = new Map<string, Speed>()

  function learn(model: string, f: GenerationFigures): void {
    if (f.cancelled) return
    if (f.evalSeconds !== undefined) {
      observe(speeds, model, positive(f.inputTokens) ? (f.promptSeconds ?? 0) / f.inputTokens : undefined, positive(f.outputTokens) ? f.evalSeconds / f.outputTokens : undefined)
      return
    }
    // An OpenAI-kind stream: the first byte ends the prompt's evaluation, the rest is decoding.
    if (f.firstByteSeconds !== undefined && positive(f.outputTokens) && positive(f.inputTokens)) {
      observe(speeds, model, f.firstByteSeconds / f.inputTokens, Math.max(0, f.wallSeconds - f.firstByteSeconds) / f.outputTokens)
      return
    }
    // A whole answer: its wall time, less the prompt at the known prompt speed, is decoding.
    if (positive(f.outputTokens)) {
      const prompt = (speeds.get(model)?.prompt ?? 0) * (f.inputTokens ?? 0)
      observe(speeds, model, undefined, Math.max(0, f.wallSeconds - prompt) / f.outputTokens)
    }
  }

  const atSpeed = (s: Speed, input: number, output: number) => s.prompt * input + s.decode * output

  return {
    measure(model, f) {
      let seconds: number
      if (f.evalSeconds !== undefined && !f.cancelled) seconds = (f.promptSeconds ?? 0) + f.evalSeconds
      else {
        const s = speeds.get(model)
        seconds = f.cancelled || !s ? f.wallSeconds : atSpeed(s, f.inputTokens ?? 0, f.outputTokens ?? 0)
      }
      learn(model, f)
      return seconds
    },
    estimate(model, input, output, reference, views) {
      const own = speeds.get(model)
      if (own) return atSpeed(own, input, output)
      const ref = reference && speeds.get(reference.model)
      if (!ref || !reference) return undefined
      const ratio = sizeRatio(model, reference.model, views)
      return ratio === undefined ? undefined : atSpeed(ref, input, output) * ratio
    },
    speeds() {
      const out: ReturnType<GpuClock['speeds']> = {}
      for (const [model, s] of speeds) out[model] = { promptSecondsPerToken: s.prompt, decodeSecondsPerToken: s.decode, samples: s.samples }
      return out
    },
  }
}

/** The model's parameter count: what a backend reported, else its tag (`:33b`). */
function paramsOf(model: string, views: readonly BackendView[] | undefined): number | undefined {
  for (const b of views ?? []) {
    const info = b.models.find((m) => m.name === model)
    if (info) return parameterCount(info)
  }
  return parameterCount({ name: model } as ModelInfo)
}

function sizeRatio(model: string, reference: string, views: readonly BackendView[] | undefined): number | undefined {
  const a = paramsOf(model, views)
  const b = paramsOf(reference, views)
  return a && b ? a / b : undefined
}

/** The route's largest model: the most parameters among its models; unknown sizes lose to known ones, ties go to the higher class. */
export function largestModel(route: RouteConfig, views?: readonly BackendView[]): string | undefined {
  let best: { model: string; params: number } | undefined
  for (const label of TASK_CLASSES.toReversed()) {
    for (const model of route[label]) {
      const params = paramsOf(model, views) ?? 0
      if (!best || params > best.params) best = { model, params }
    }
  }
  return best?.model
}

/** A finished request's GPU account: every generation it ran, what its decision cost, and what routing saved net. */
export interface GpuAccount {
  readonly gpu: readonly GpuUse[]
  readonly gpuSecondsSaved?: number
  readonly overheadGpuSeconds?: number
}

/** Largest model per route, rebuilt when the discovered model list changes (keyed by its array). */
const largestByRoute = new WeakMap<RouteConfig, { names: readonly string[]; model: string | undefined }>()

function largestOf(route: RouteConfig, names: readonly string[], views: readonly BackendView[]): string | undefined {
  const memo = largestByRoute.get(route)
  if (memo?.names === names) return memo.model
  const model = largestModel(route, views)
  largestByRoute.set(route, { names, model })
  return model
}

/**
 * The account of a request answered by `answer`: `uses` are its generations (the answer's included), `overhead` the
 * decision's own GPU seconds. A routed answer saves what the same tokens would have cost on the route's largest
 * model, less everything spent: negative when checking cost more than it saved. Unknown speeds: no savings figure.
 */
export function accountGpu(
  clock: GpuClock,
  health: { views(): readonly BackendView[]; modelNames(): readonly string[] },
  route: RouteConfig | undefined,
  answer: { readonly model: string; readonly inputTokens?: number; readonly outputTokens?: number } | undefined,
  uses: readonly GpuUse[],
  overhead: number,
): GpuAccount {
  const overheadGpuSeconds = overhead > 0 ? overhead : undefined
  if (!route || !answer) return { gpu: uses, overheadGpuSeconds }
  const views = health.views()
  const largest = largestOf(route, health.modelNames(), views)
  if (!largest) return { gpu: uses, overheadGpuSeconds }
  // Answered by the largest model itself: the counterfactual is what it just spent.
  const counterfactual = largest === answer.model
    ? uses.find((u) => u.role === 'answer')?.seconds
    : clock.estimate(largest, answer.inputTokens ?? 0, answer.outputTokens ?? 0, answer, views)
  if (counterfactual === undefined) return { gpu: uses, overheadGpuSeconds }
  const spent = uses.reduce((sum, u) => sum + u.seconds, 0) + overhead
  return { gpu: uses, gpuSecondsSaved: counterfactual - spent, overheadGpuSeconds }
}
