/** How long a simulated model takes (load, prompt evaluation, each token) and the clock that waits for it. */
import type { ModelSpec } from './models.ts'

type Anchors = readonly (readonly [billions: number, value: number])[]

/** Cold-start milliseconds by size: 1.5B ≈ 300 ms, 7B ≈ 1.5 s, 33B ≈ 6 s. */
const LOAD_MS: Anchors = [[0, 100], [1.5, 300], [7, 1500], [33, 6000], [70, 12_000], [400, 60_000]]
/** Generation speed by size: 1.5B ≈ 150 tok/s, 7B ≈ 60 tok/s, 33B ≈ 15 tok/s. */
const TOKENS_PER_SECOND: Anchors = [[0, 300], [1.5, 150], [3, 100], [7, 60], [14, 35], [33, 15], [70, 8], [400, 2]]
/** Prompt processing speed by size, in tokens per second. */
const PROMPT_TOKENS_PER_SECOND: Anchors = [[0, 6000], [1.5, 3000], [7, 1200], [33, 300], [70, 150], [400, 30]]

function interpolate(anchors: Anchors, x: number): number {
  const first = anchors[0]
  if (!first) return 0
  let previous = first
  for (const anchor of anchors) {
    if (x <= anchor[0]) {
      if (anchor === previous) return anchor[1]
      const t = (x - previous[0]) / (anchor[0] - previous[0])
      return previous[1] + t * (anchor[1] - previous[1])
    }
    previous = anchor
  }
  return previous[1]
}

/** Nominal (model-time) durations in milliseconds; reported in stats whatever the speed. */
export interface ModelLatency {
  readonly loadMs: number
  readonly perTokenMs: number
  promptMs(promptTokens: number): number
}

export function createModelLatency(spec: ModelSpec): ModelLatency {
  const promptRate = interpolate(PROMPT_TOKENS_PER_SECOND, spec.billions)
  // A fixed overhead per request (sampling setup, first forward pass) grows with size too.
  const overheadMs = 5 + spec.billions * 2
  return {
    loadMs: Math.round(interpolate(LOAD_MS, spec.billions)),
    perTokenMs: 1000 / interpolate(TOKENS_PER_SECOND, spec.billions),
    promptMs: (promptTokens) => overheadMs + (promptTokens / promptRate) * 1000,
  }
}

export interface Clock {
  /** Waits `nominalMs` divided by the speed (nothing when instant); rejects when `signal` aborts. */
  wait(nominalMs: number, signal: AbortSignal): Promise<void>
}

export function createClock(options: { speed?: number | undefined; instant?: boolean | undefined }): Clock {
  const speed = options.speed && options.speed > 0 ? options.speed : 1
  const instant = options.instant === true
  return {
    wait(nominalMs, signal) {
      const ms = instant ? 0 : nominalMs / speed
      return ms >= 0.5 ? sleep(ms, signal) : signal.aborted ? Promise.reject(signal.reason) : Promise.resolve()
    },
  }
}

/** Real-time wait (faults use it: their durations are literal), cut short by `signal`. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/** Resolves when `signal` aborts: how a hung request waits for its caller to give up. */
export function waitForAbort(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve()
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
}
