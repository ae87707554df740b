/** The markdown report: tables of medians with ratios against the bare proxy, and the performance budgets, pass or fail. */
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
  const slowRows = slowKinds(results).map((kind) => {
    const { bare, gateway } = slowRates(results, kind)
    return [kind, kind.endsWith('-auto') ? '(= named)' : bare.toFixed(1), Number.isFinite(gateway) ? `${gateway.toFixed(1)} (${ratio(gateway, bare)})` : 'n/a']
  })
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
    `#### Streams from a slow upstream: throughput (streams/s, 128 started at once, ~0.8 s each; ratio vs bare proxy)`,
    table(['stream', 'bare', 'default'], slowRows),
    '',
    `#### Memory (MB VmRSS; ratio vs bare proxy)`,
    table(['target', 'idle', `${info.openStreams} open streams (peak)`, 'streams open at once', 'errors'], memRows),
    ...(info.notes.length ? ['', 'Notes:', ...info.notes.map((n) => `- ${n}`)] : []),
  ].join('\n')
}

/** The slow-upstream stream kinds the default gateway was measured on: `openai`, `openai-auto`, ... */
function slowKinds(results: Results): string[] {
  return [...results.slowStreams.keys()].filter((k) => k.startsWith('default|')).map((k) => k.slice('default|'.length))
}

/** Streams a second of one kind: the default gateway's, and the bare proxy's named figure (its baseline for `auto` too). */
function slowRates(results: Results, kind: string): { bare: number; gateway: number } {
  return {
    bare: median(results.slowStreams.get(`bare|${kind.replace(/-auto$/, '')}`) ?? []),
    gateway: median(results.slowStreams.get(`default|${kind}`) ?? []),
  }
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

/** The budgets of BENCHMARKS.md's table, one verdict line each; rows this run cannot measure say how to. */
export function budgets({ results, scenarios, targets, protocols }: ReportInput, _full?: string): Budget[] {
  const has = (name: string) => targets.some((t) => t.name === name)
  const rpsRatio = (t: string, s: Scenario) => results.med(t, s.name, 'rps') / results.med('bare', baseOf(s.name), 'rps')
  const pick = (stream: boolean, auto: boolean) => scenarios.filter((s) => s.stream === stream && s.auto === auto)
  const check = (value: number, ok: (x: number) => boolean) => (Number.isFinite(value) ? ok(value) : undefined)
  const out: Budget[] = []
  const ratioRow = (name: string, target: string, list: readonly Scenario[], min: number) => {
    if (!has(target) || list.length === 0) return out.push({ name, value: `not measured (no ${target} target or scenario in this run)`, pass: undefined })
    const r = worst(list.map((s) => rpsRatio(target, s)), 'min')
    out.push({ name, value: `${r.toFixed(2)}x (worst scenario)`, pass: check(r, (x) => x >= min) })
  }
  ratioRow('`default`, named, non-streamed ≥ 0.70x bare', 'default', pick(false, false), 0.7)
  ratioRow('`default`, `auto`, non-streamed ≥ 0.60x', 'default', pick(false, true), 0.6)
  ratioRow('`default`, streams from a zero-delay upstream, named ≥ 0.60x', 'default', pick(true, false), 0.6)
  ratioRow('`default`, streams from a zero-delay upstream, `auto` ≥ 0.50x', 'default', pick(true, true), 0.5)
  ratioRow('tracing on, every request sampled (`cache+otel`), named ≥ 0.50x', 'cache+otel', pick(false, false), 0.5)
  ratioRow('tracing on, `auto` ≥ 0.42x', 'cache+otel', pick(false, true), 0.42)
  const kinds = slowKinds(results)
  const slowRatio = worst(kinds.map((k) => {
    const { bare, gateway } = slowRates(results, k)
    return gateway / bare
  }), 'min')
  out.push({
    name: '`default`, streams (named and `auto`) from a slow upstream ≥ 0.92x',
    value: kinds.length ? `${slowRatio.toFixed(2)}x (worst of ${kinds.join(', ')})` : 'not measured (no default target in this run)',
    pass: kinds.length ? check(slowRatio, (x) => x >= 0.92) : undefined,
  })
  if (has('cache') && has('cache+otel')) {
    const traced = worst(scenarios.map((s) => results.med('cache+otel', s.name, 'cpuUs') - results.med('cache', s.name, 'cpuUs')), 'max')
    out.push({ name: 'CPU tracing adds per request (cache+otel minus cache, same run) ≤ 40 µs', value: `${signedUs(traced)} µs (worst scenario)`, pass: check(traced, (x) => x <= 40) })
  } else out.push({ name: 'CPU tracing adds per request ≤ 40 µs', value: 'not measured (needs the cache and cache+otel targets)', pass: undefined })
  if (has('portkey')) {
    const openai = scenarios.filter((s) => s.protocol === 'openai')
    for (const [target, min] of [['default', 20], ['cache+otel', 15]] as const) {
      const vs = worst(openai.map((s) => results.med(target, s.name, 'rps') / results.med('portkey', baseOf(s.name), 'rps')), 'min')
      out.push({ name: `against Portkey on Node, same run: \`${target}\` ≥ ${min}x`, value: `${vs.toFixed(1)}x (worst OpenAI scenario)`, pass: check(vs, (x) => x >= min) })
    }
  } else out.push({ name: 'against Portkey (≥ 20x `default`, ≥ 15x with tracing)', value: 'not measured (run with --peer portkey)', pass: undefined })
  const ttfbAdded = worst(protocols.map((p) => median(results.streams.get(`default|${p}`)?.ttfbUs ?? []) - median(results.streams.get(`bare|${p}`)?.ttfbUs ?? [])), 'max')
  const buffered = protocols.some((p) => {
    const st = results.streams.get(`default|${p}`)
    return st ? isBuffered(median(st.ttfbUs), median(st.totalUs)) : false
  })
  out.push({ name: 'time to first byte added at light load, p50 (`default`, streams not buffered) ≤ 300 µs', value: `${buffered ? 'BUFFERED; ' : ''}${signedUs(ttfbAdded)} µs (worst protocol)`, pass: check(ttfbAdded, (x) => x <= 300 && !buffered) })
  const added = (m: 'p50' | 'p99') => worst(scenarios.map((s) => results.med('default', s.name, m) - results.med('bare', baseOf(s.name), m)), 'max')
  const p50 = added('p50')
  const p99 = added('p99')
  out.push({ name: 'light-load latency added, p50 (`default`) ≤ 150 µs', value: `${signedUs(p50)} µs (worst scenario)`, pass: check(p50, (x) => x <= 150) })
  out.push({ name: 'light-load latency added, p99 (`default`) ≤ 1 ms', value: `${signedUs(p99)} µs (worst scenario)`, pass: check(p99, (x) => x <= 1_000) })
  const gateways = targets.filter((t) => t.name !== 'bare' && t.name !== 'portkey').map((t) => t.name)
  const idle = worst(gateways.map((g) => median(results.memory.get(g)?.idleKb ?? [])), 'max')
  const peak = worst(gateways.map((g) => median(results.memory.get(g)?.peakKb ?? [])), 'max')
  out.push({ name: 'RSS idle ≤ 80 MB (worst gateway config)', value: `${mb(idle)} MB`, pass: check(idle, (x) => x <= 80 * 1024) })
  out.push({ name: 'RSS with 1,000 open streams ≤ 160 MB (worst gateway config)', value: `${mb(peak)} MB`, pass: check(peak, (x) => x <= 160 * 1024) })
  const long = results.longClassification
  out.push({
    name: 'classification of a 50-turn, 100 KB conversation (default classifier), p99 ≤ 300 µs',
    value: long ? `${long.p99.toFixed(0)} µs (p50 ${long.p50.toFixed(0)} µs, ${Math.round(long.chars / 1000)} K characters)` : 'not measured (runs without --scenario)',
    pass: long ? check(long.p99, (x) => x <= 300) : undefined,
  })
  return out
}

export function renderBudgets(list: readonly Budget[]): string {
  return table(['budget', 'measured', 'result'], list.map((b) => [b.name, b.value, b.pass === undefined ? 'not measured' : b.pass ? 'pass' : '**FAIL**']))
}
