/** Judge and order the backends serving one model: fit in VRAM, known-up, warm, least loaded, fastest, coolest GPU. */
import type { BackendView } from 'switchyard/plugin'

export interface Ranked {
  readonly backend: BackendView
  /** Built only for the option that is chosen (string building on every request adds up). */
  why(): string
}

const MIB = 1024 * 1024
/** Loading a model needs a little more than its file size (KV cache, buffers). */
const VRAM_HEADROOM = 1.1

function load(b: BackendView): number {
  return b.maxConcurrency ? b.inFlight / b.maxConcurrency : b.inFlight
}

function freeVramBytes(b: BackendView): number | undefined {
  const free = b.gpus.map((g) => g.memoryFreeMiB ?? (g.memoryTotalMiB !== undefined && g.memoryUsedMiB !== undefined ? g.memoryTotalMiB - g.memoryUsedMiB : undefined))
  if (free.length === 0 || free.some((f) => f === undefined)) return undefined
  return (free as number[]).reduce((a, f) => a + f, 0) * MIB
}

function utilization(b: BackendView): number {
  const known = b.gpus.map((g) => g.utilization).filter((u): u is number => u !== undefined)
  return known.length ? known.reduce((a, u) => a + u, 0) / known.length : 0
}

/** A cold model that does not fit in the backend's free GPU memory cannot be loaded without evicting others. */
export function vramMisfit(b: BackendView, model: string): string | undefined {
  if (b.loaded.some((m) => m.name === model)) return undefined
  const size = b.models.find((m) => m.name === model)?.sizeBytes
  const free = freeVramBytes(b)
  if (size === undefined || free === undefined) return undefined
  if (size * VRAM_HEADROOM <= free) return undefined
  return `needs ${Math.round((size * VRAM_HEADROOM) / MIB)} MiB, ${Math.round(free / MIB)} MiB free`
}

export function rankBackends(backends: readonly BackendView[], model: string): Ranked[] {
  const scored = backends.map((b) => {
    const warm = b.loaded.some((m) => m.name === model)
    const full = b.maxConcurrency !== undefined && b.inFlight >= b.maxConcurrency
    return { b, warm, full, known: b.up === true, load: load(b), latency: b.ewmaLatencyMs ?? b.latencyMs ?? 0, util: utilization(b) }
  })
  scored.sort(
    (x, y) =>
      Number(x.full) - Number(y.full) || Number(y.known) - Number(x.known) || Number(y.warm) - Number(x.warm) ||
      x.load - y.load || x.latency - y.latency || x.util - y.util,
  )
  return scored.map((s) => ({
    backend: s.b,
    why: () => [
      s.known ? 'up' : 'health unknown', s.warm ? 'warm' : 'cold', `${s.b.inFlight} in flight`, s.full ? 'at maxConcurrency' : '',
      s.b.gpus.length ? `GPU ${Math.round(s.util)}% busy` : '',
    ].filter(Boolean).join(', '),
  }))
}
