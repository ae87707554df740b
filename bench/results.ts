/** What a bench run collects: samples per (target, scenario) across rounds, reduced to medians for the report. */
import { median } from './summary.ts'

export interface CellSamples {
  rps: number[]
  cpuUs: number[]
  busy: number[]
  p50: number[]
  p99: number[]
  p999: number[]
  errors: number
  firstError?: string
}

export interface StreamSamples {
  ttfbUs: number[]
  totalUs: number[]
  errors: number
}

export interface MemorySamples {
  idleKb: number[]
  peakKb: number[]
  openAtOnce: number[]
  errors: number
  firstError?: string
}

export interface RunInfo {
  readonly date: string
  readonly machine: string
  readonly bun: string
  readonly node?: string
  readonly loadTool: string
  readonly pinning: string
  readonly rounds: number
  readonly throughputMs: number
  readonly latencyMs: number
  readonly connections: number
  readonly ratePerSecond: number
  readonly openStreams: number
  readonly notes: string[]
}

export class Results {
  readonly cells = new Map<string, CellSamples>()
  readonly streams = new Map<string, StreamSamples>()
  readonly memory = new Map<string, MemorySamples>()
  /** Streams a second from the slow upstream, by `target|protocol[-auto]`. */
  readonly slowStreams = new Map<string, number[]>()
  /** The default classifier on a 50-turn, 100 KB conversation (µs), when measured. */
  longClassification?: { readonly p50: number; readonly p99: number; readonly chars: number }

  slow(target: string, kind: string): number[] {
    const key = `${target}|${kind}`
    let list = this.slowStreams.get(key)
    if (!list) this.slowStreams.set(key, (list = []))
    return list
  }

  cell(target: string, scenario: string): CellSamples {
    const key = `${target}|${scenario}`
    let c = this.cells.get(key)
    if (!c) this.cells.set(key, (c = { rps: [], cpuUs: [], busy: [], p50: [], p99: [], p999: [], errors: 0 }))
    return c
  }

  stream(target: string, protocol: string): StreamSamples {
    const key = `${target}|${protocol}`
    let s = this.streams.get(key)
    if (!s) this.streams.set(key, (s = { ttfbUs: [], totalUs: [], errors: 0 }))
    return s
  }

  mem(target: string): MemorySamples {
    let m = this.memory.get(target)
    if (!m) this.memory.set(target, (m = { idleKb: [], peakKb: [], openAtOnce: [], errors: 0 }))
    return m
  }

  /** Median of one measure; undefined cell -> NaN so the table shows n/a. */
  med(target: string, scenario: string, measure: 'rps' | 'cpuUs' | 'busy' | 'p50' | 'p99' | 'p999'): number {
    const c = this.cells.get(`${target}|${scenario}`)
    return c ? median(c[measure]) : Number.NaN
  }
}
