/** The markdown report: tables of medians with ratios against the bare proxy, and the issue's budgets pass/fail. */
import type { Results, RunInfo } from './results.ts'
import { type Scenario } from './scenarios.ts'
import { compact, median, ratio } from './summary.ts'

export interface ReportInput {
  readonly info: RunInfo
  readonly results: Results
  readonly scenarios: readonly Scenario[]
  /** Column order: bare first, then gateway configs, then the peer. */
  readonly targets: readonly ReportTarget[]
  readonly protocols: readonly string[]
}

export interface ReportTarget {
  readonly name: string
  readonly gateway: boolean
  readonly openaiOnly?: boolean
  readonly description?: string
  /** Scenarios the target failed at preflight (a peer that cannot do them); shown as n/a. */
  readonly unsupported?: readonly string[]
}

/** The bare proxy has no `auto`: its reference for `x-auto` is the same request with the named model. */
const baseOf = (scenario: string) => scenario.replace(/-auto$/, '')

const us = (x: number) => (Number.isFinite(x) ? `${Math.round(x)}` : 'n/a')
const signedUs = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${Math.round(x)}` : 'n/a')
const mb = (kb: number) => (Number.isFinite(kb) ? `${(kb / 1024).toFixed(1)}` : 'n/a')

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n')
}

/** Only gateways classify: others measure `auto` rows as the named-model request, so those cells are not repeated. */
/** A stream whose first byte came after half its total time was held back, not streamed. */
const isBuffered = (ttfbUs: number, totalUs: number): boolean => ttfbUs / totalUs > 0.5

export function skip(target: ReportTarget, scenario: Scenario): boolean {
  return (target.openaiOnly === true && scenario.protocol !== 'openai') || (!target.gateway && scenario.auto) || (target.unsupported?.includes(scenario.name) ?? false)
}

export function renderTables({ info, results, scenarios, targets, protocols }: ReportInput): string {
  const names = targets.map((t) => t.name)
  const cellOf = (measure: 'rps' | 'cpuUs', fmt: (x: number) => string) =>
    scenarios.map((s) => [
      s.name,
      ...targets.map((t) => {
        if (skip(t, s)) return t.gateway ? '—' : '(= named)'
        const value = results.med(t.name, s.name, measure)
        const base = results.med('bare', baseOf(s.name), measure)
        return t.name === 'bare' ? fmt(value) : `${fmt(value)} (${ratio(value, base)})`
      }),
    ])
  const busyRow = scenarios.map((s) => [s.name, ...targets.map((t) => (skip(t, s) ? '—' : `${Math.round(results.med(t.name, s.name, 'busy') * 100)}%`))])
  const latencyTargets = targets.filter((t) => [...results.cells.entries()].some(([k, c]) => k.startsWith(`${t.name}|`) && c.p50.length > 0))
  const latencyRows = scenarios.flatMap((s) =>
    latencyTargets.filter((t) => !skip(t, s)).map((t) => {
      const get = (m: 'p50' | 'p99' | 'p999') => results.med(t.name, s.name, m)
      const base = (m: 'p50' | 'p99' | 'p999') => results.med('bare', baseOf(s.name), m)
      const col = (m: 'p50' | 'p99' | 'p999') => (t.name === 'bare' ? us(get(m)) : `${us(get(m))} (${signedUs(get(m) - base(m))})`)
      return [s.name, t.name, col('p50'), col('p99'), col('p999')]
    }),
  )
  const streamRows = protocols.flatMap((p) =>
    targets.filter((t) => results.streams.has(`${t.name}|${p}`)).map((t) => {
      const s = results.streams.get(`${t.name}|${p}`)
      const b = results.streams.get(`bare|${p}`)
      const ttfb = median(s?.ttfbUs ?? [])
      const total = median(s?.totalUs ?? [])
      const added = ttfb - median(b?.ttfbUs ?? [])
      const buffered = isBuffered(ttfb, total) ? 'BUFFERED' : 'streams'
      return [p, t.name, us(ttfb), t.name === 'bare' ? '—' : signedUs(added), us(total), `${(ttfb / total).toFixed(3)}`, buffered]
    }),
  )
  const memRows = targets.filter((t) => results.memory.has(t.name)).map((t) => {
    const m = results.memory.get(t.name)
    const b = results.memory.get('bare')
    const idle = median(m?.idleKb ?? [])
    const peak = median(m?.peakKb ?? [])
    const ref = (x: number, y: number) => (t.name === 'bare' ? '' : ` (${ratio(x, y)})`)
    return [t.name, `${mb(idle)}${ref(idle, median(b?.idleKb ?? []))}`, `${mb(peak)}${ref(peak, median(b?.peakKb ?? []))}`, Number.isFinite(median(m?.openAtOnce ?? [])) ? `${Math.round(median(m?.openAtOnce ?? []))}` : 'n/a', `${m?.errors ?? 0}`]
  })
  return [
    `Run: ${info.date}; ${info.machine}; bun ${info.bun}${info.node ? `; node ${info.node}` : ''}; load: ${info.loadTool}; ${info.pinning}.`,
    `Medians of ${info.rounds} round(s). Throughput: ${info.connections} connections, ${info.throughputMs / 1000} s per round. Latency: ${info.ratePerSecond} req/s fixed rate, ${info.latencyMs / 1000} s per round. Every prompt is unique (cache misses, no classification memo hits).`,
    '',
    ...targets.filter((t) => t.description).map((t) => `- \`${t.name}\`: ${t.description}`),
    '',
    `#### Saturation throughput (req/s; ratio vs bare proxy)`,
    table(['scenario', ...names], cellOf('rps', compact)),
    '',
    `#### Server CPU per request (µs user+system; ratio vs bare proxy)`,
    table(['scenario', ...names], cellOf('cpuUs', (x) => us(x))),
    '',
    `#### Server core busy during the throughput run (a target below ~90% was not the bottleneck)`,
    table(['scenario', ...names], busyRow),
    '',
    `#### Latency at ${info.ratePerSecond} req/s (µs; in brackets: added vs bare proxy)`,
    table(['scenario', 'target', 'p50', 'p99', 'p99.9'], latencyRows),
    '',
    `#### Streams from a slow upstream: time to first chunk vs total (µs, p50)`,
    table(['protocol', 'target', 'TTFB', 'added TTFB', 'total', 'TTFB/total', 'verdict'], streamRows),
    '',
    `#### Memory (MB VmRSS; ratio vs bare proxy)`,
    table(['target', 'idle', `${info.openStreams} open streams (peak)`, 'streams open at once', 'errors'], memRows),
    ...(info.notes.length ? ['', 'Notes:', ...info.notes.map((n) => `- ${n}`)] : []),
  ].join('\n')
}

interface Budget {
  readonly name: string
  readonly value: string
  readonly pass: boolean | undefined
}

function worst(values: number[], pick: 'min' | 'max'): number {
  const finite = values.filter(Number.isFinite)
  if (finite.length === 0) return Number.NaN
  return pick === 'min' ? Math.min(...finite) : Math.max(...finite)
}

export function budgets({ results, scenarios, targets, protocols }: ReportInput, full: string): Budget[] {
  const has = (name: string) => targets.some((t) => t.name === name)
  const rpsRatio = (t: string, s: Scenario) => results.med(t, s.name, 'rps') / results.med('bare', baseOf(s.name), 'rps')
  const auto = scenarios.filter((s) => s.auto)
  const named = scenarios.filter((s) => !s.auto)
  const added = (m: 'p50' | 'p99') => worst(auto.map((s) => results.med(full, s.name, m) - results.med('bare', baseOf(s.name), m)), 'max')
  const check = (value: number, ok: (x: number) => boolean) => (Number.isFinite(value) ? ok(value) : undefined)
  const out: Budget[] = []
  const autoRatio = worst(auto.map((s) => rpsRatio(full, s)), 'min')
  out.push({ name: `full pipeline (${full}, auto) throughput ≥ 0.8x bare`, value: `${autoRatio.toFixed(2)}x (worst scenario)`, pass: check(autoRatio, (x) => x >= 0.8) })
  const namedRatio = worst(named.map((s) => rpsRatio(full, s)), 'min')
  out.push({ name: `named model (${full}) throughput ≥ 0.9x bare`, value: `${namedRatio.toFixed(2)}x (worst scenario)`, pass: check(namedRatio, (x) => x >= 0.9) })
  if (has('portkey')) {
    const vs = worst(scenarios.filter((s) => s.protocol === 'openai').map((s) => results.med(full, s.name, 'rps') / results.med('portkey', baseOf(s.name), 'rps')), 'min')
    out.push({ name: `≥ 20x Portkey's throughput (${full} vs portkey, OpenAI)`, value: `${vs.toFixed(1)}x (worst scenario)`, pass: check(vs, (x) => x >= 20) })
  } else out.push({ name: "≥ 20x Portkey's throughput", value: 'not measured (run with --peer portkey)', pass: undefined })
  const p50 = added('p50')
  const p99 = added('p99')
  out.push({ name: `added latency p50 ≤ 100 µs (${full}, auto, light load)`, value: `${signedUs(p50)} µs (worst scenario)`, pass: check(p50, (x) => x <= 100) })
  out.push({ name: `added latency p99 ≤ 500 µs (${full}, auto, light load)`, value: `${signedUs(p99)} µs (worst scenario)`, pass: check(p99, (x) => x <= 500) })
  const ttfbAdded = worst(protocols.map((p) => median(results.streams.get(`${full}|${p}`)?.ttfbUs ?? []) - median(results.streams.get(`bare|${p}`)?.ttfbUs ?? [])), 'max')
  const buffered = protocols.some((p) => {
    const s = results.streams.get(`${full}|${p}`)
    return s ? isBuffered(median(s.ttfbUs), median(s.totalUs)) : false
  })
  out.push({ name: `streams not buffered; added TTFB p50 ≤ 100 µs (${full})`, value: `${buffered ? 'BUFFERED; ' : ''}${signedUs(ttfbAdded)} µs (worst protocol)`, pass: check(ttfbAdded, (x) => x <= 100 && !buffered) })
  const gateways = targets.filter((t) => t.name !== 'bare' && t.name !== 'portkey').map((t) => t.name)
  const idle = worst(gateways.map((g) => median(results.memory.get(g)?.idleKb ?? [])), 'max')
  const peak = worst(gateways.map((g) => median(results.memory.get(g)?.peakKb ?? [])), 'max')
  out.push({ name: 'RSS idle ≤ 80 MB (worst gateway config)', value: `${mb(idle)} MB`, pass: check(idle, (x) => x <= 80 * 1024) })
  out.push({ name: 'RSS ≤ 200 MB with 1,000 open streams (worst gateway config)', value: `${mb(peak)} MB`, pass: check(peak, (x) => x <= 200 * 1024) })
  return out
}

export function renderBudgets(list: readonly Budget[]): string {
  return table(['budget', 'measured', 'result'], list.map((b) => [b.name, b.value, b.pass === undefined ? 'not measured' : b.pass ? 'pass' : '**FAIL**']))
}
