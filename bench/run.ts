/** `bun run bench`: the gateway against a bare Bun proxy (and optionally Portkey) on a zero-delay upstream. */
import { parseArgs } from 'node:util'
import { join } from 'node:path'
import { type Fleet, type Target, startFleet } from './fleet.ts'
import { measureFirstByte, measureLatency, measureOpenStreams, measureSlowStreams, measureThroughput, preflight, warmSlowModels } from './measure.ts'
import { measureLongClassification } from './classify-long.ts'
import { cpuModel, hasTaskset, rssKbOf } from './processes.ts'
import { type ReportTarget, budgets, renderBudgets, renderTables, skip } from './report.ts'
import { Results, type RunInfo } from './results.ts'
import { SCENARIOS, type Scenario } from './scenarios.ts'
import { median } from './summary.ts'
import { hasWrk } from './wrk.ts'
import { writeResults } from './write-results.ts'
import { messageOf } from '../src/errors.ts'

const USAGE = `usage: bun run bench [--quick] [--rounds N] [--scenario NAME[,NAME]] [--peer portkey] [--write] [--micro]
  --quick          ~1 minute: 2 rounds of 1 s, configs default and cache+otel only
  --rounds N       rounds per measurement (default 3); every figure is the median over rounds
  --scenario NAME  only scenarios whose name contains NAME (openai-chat, ollama-stream-auto, auto, stream, ...);
                   --scenario cascade: draft and audit against the simulator's quality model (bench/cascade.ts)
  --peer portkey   add Portkey's gateway (installed into bench/.peer on first use)
  --write          replace the results section of BENCHMARKS.md
  --micro          run the micro-benchmarks (bench/micro.ts) instead
  --history        measure what recording each decision in the history costs (bench/history.ts) instead
  --retrain        request latency while the classifier retrains on the same gateway (bench/retrain.ts) instead
  --profile        where one gateway's CPU per request goes, by thread and (with --cpu-prof) by part of the code
                   (bench/profile.ts; its own flags: --config NAME --scenario NAME --warm S --seconds S --rounds N --cpu-prof)`

// --profile takes its own flags: hand the whole command line over.
if (Bun.argv.includes('--profile')) {
  const proc = Bun.spawn([process.execPath, join(import.meta.dir, 'profile.ts'), ...Bun.argv.slice(2)], { stdout: 'inherit', stderr: 'inherit' })
  process.exit(await proc.exited)
}

const { values: flags } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    scenario: { type: 'string' },
    peer: { type: 'string' },
    write: { type: 'boolean', default: false },
    micro: { type: 'boolean', default: false },
    history: { type: 'boolean', default: false },
    retrain: { type: 'boolean', default: false },
    connections: { type: 'string', default: '64' },
    rate: { type: 'string', default: '500' },
    streams: { type: 'string', default: '1000' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
})

if (flags.help) {
  console.log(USAGE)
  process.exit(0)
}
const cascade = flags.scenario === 'cascade'
if (flags.micro || flags.history || flags.retrain || cascade) {
  const script = flags.micro ? 'micro.ts' : flags.history ? 'history.ts' : flags.retrain ? 'retrain.ts' : 'cascade.ts'
  const proc = Bun.spawn([process.execPath, join(import.meta.dir, script)], { stdout: 'inherit', stderr: 'inherit' })
  process.exit(await proc.exited)
}
if (flags.peer !== undefined && flags.peer !== 'portkey') {
  console.error(`unknown peer "${flags.peer}"; supported: portkey\n${USAGE}`)
  process.exit(2)
}

const quick = flags.quick
const rounds = Number(flags.rounds ?? (quick ? 2 : 3))
const throughputMs = quick ? 1_000 : 2_000
const latencyMs = quick ? 1_000 : 2_000
const connections = Number(flags.connections)
const ratePerSecond = Number(flags.rate)
const openStreams = Number(flags.streams)
const firstByteCount = quick ? 12 : 24
/** Streams started at once per slow-upstream throughput run. */
const SLOW_STREAMS = 128
const filters = flags.scenario?.split(',').map((f) => f.trim()).filter(Boolean)
const scenarios = SCENARIOS.filter((s) => !filters || filters.some((f) => s.name.includes(f)))
if (scenarios.length === 0) {
  console.error(`no scenario matches "${flags.scenario}"; scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}`)
  process.exit(2)
}
const protocols = [...new Set(scenarios.map((s) => s.protocol))]
const log = (line: string) => console.error(`[bench] ${line}`)

if (!hasWrk()) log('wrk not found: install it for saturation runs (apt-get install -y wrk / brew install wrk); using the Bun closed-loop generator instead')
if (!hasTaskset()) log('taskset not available or fewer than 2 cores: processes are not pinned')

/** Scenarios a peer failed at preflight, by target name. */
const unsupported = new Map<string, string[]>()

const reportTarget = (t: Target): ReportTarget => ({
  name: t.name,
  gateway: t.kind === 'gateway',
  openaiOnly: t.openaiOnly,
  unsupported: unsupported.get(t.name),
  description: t.variant?.description ?? (t.kind === 'bare' ? 'bench/bare-proxy.ts: fetch upstream, stream the body back' : t.kind === 'peer' ? '@portkey-ai/gateway on Node, provider ollama with custom host' : undefined),
})
const streamsOk = (t: Target) => !unsupported.get(t.name)?.some((s) => s.includes('stream'))

async function run(fleet: Fleet): Promise<void> {
  const results = new Results()
  const notes: string[] = [...fleet.missing.map((m) => `not included: ${m}`)]
  await warmSlowModels(fleet.slowUpstream)
  const targets = [...fleet.targets]
  for (const t of targets) {
    for (const s of scenarios) {
      if (skip(reportTarget(t), s)) continue
      try {
        await preflight(t, s)
      } catch (error) {
        if (t.kind !== 'peer') throw error
        unsupported.set(t.name, [...(unsupported.get(t.name) ?? []), s.name])
        notes.push(`${t.name} cannot serve ${s.name} here, left out: ${messageOf(error)}`)
      }
    }
  }
  for (const t of targets) {
    const samples: number[] = []
    for (let i = 0; i < 5; i++, await Bun.sleep(100)) samples.push(rssKbOf(t.server.pid))
    results.mem(t.name).idleKb.push(median(samples))
  }
  const cells = scenarios.flatMap((s) => targets.filter((t) => !skip(reportTarget(t), s)).map((t) => ({ s, t })))
  const latencyTargets = targets.filter((t) => t.name !== 'cache')
  if (!quick) {
    log(`warm-up: ${cells.length} cells x 1 s`)
    for (const { s, t } of cells) await measureThroughput(t, s, connections, 1_000)
  }
  for (let round = 1; round <= rounds; round++) {
    log(`round ${round}/${rounds}: throughput`)
    for (const { s, t } of cells) record(results, t, s, await measureThroughput(t, s, connections, throughputMs))
    log(`round ${round}/${rounds}: latency at ${ratePerSecond} req/s`)
    for (const { s, t } of cells) {
      if (!latencyTargets.includes(t)) continue
      const l = await measureLatency(t, s, ratePerSecond, latencyMs)
      const c = results.cell(t.name, s.name)
      c.p50.push(l.p50)
      c.p99.push(l.p99)
      c.p999.push(l.p999)
      c.errors += l.errors
    }
    log(`round ${round}/${rounds}: streams and memory`)
    for (const p of protocols) {
      for (const t of targets) {
        if ((t.openaiOnly && p !== 'openai') || !streamsOk(t)) continue
        const f = await measureFirstByte(t, p, firstByteCount)
        const st = results.stream(t.name, p)
        st.ttfbUs.push(f.ttfbUs)
        st.totalUs.push(f.totalUs)
        st.errors += f.errors
      }
    }
    log(`round ${round}/${rounds}: stream throughput from the slow upstream (${SLOW_STREAMS} at once)`)
    for (const p of protocols) {
      for (const auto of [false, true]) {
        for (const t of targets) {
          // The budget is the default config's; the bare proxy has no `auto` (its named figure is the baseline for both).
          if ((t.name !== 'default' && t.name !== 'bare') || (auto && t.name === 'bare')) continue
          const r = await measureSlowStreams(t, p, auto, SLOW_STREAMS)
          results.slow(t.name, `${p}${auto ? '-auto' : ''}`).push(r.perSecond)
          if (r.errors) notes.push(`${t.name} slow ${p}${auto ? ' auto' : ''} streams: ${r.errors} errors`)
        }
      }
    }
    for (const t of targets) {
      if (!streamsOk(t)) continue
      const o = await measureOpenStreams(t, openStreams)
      const m = results.mem(t.name)
      m.peakKb.push(o.rssPeakKb)
      m.openAtOnce.push(o.openAtOnce)
      m.errors += o.errors
      m.firstError ??= o.firstError
    }
  }
  if (!flags.scenario) {
    log('classification of a 50-turn, 100 KB conversation (in this process)')
    results.longClassification = await measureLongClassification()
  }
  for (const [key, c] of results.cells) if (c.errors) notes.push(`${key.replace('|', ' ')}: ${c.errors} errors (${c.firstError ?? 'see latency run'})`)
  for (const [name, m] of results.memory) if (m.errors) notes.push(`${name} open streams: ${m.errors} errors (${m.firstError})`)
  const sink = (await fetch(`${fleet.otlp.url}/stats`).then((r) => r.json())) as { exports: number; bytes: number }
  notes.push(`OTLP sink received ${sink.exports} export requests (${sink.bytes} bytes) during the run.`)
  const info: RunInfo = {
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    machine: `${navigator.hardwareConcurrency} cores (nproc), ${cpuModel()}`,
    bun: Bun.version,
    ...(targets.some((t) => t.kind === 'peer') ? { node: process.versions.node } : {}),
    loadTool: hasWrk() ? 'wrk (saturation) + bench/load.ts (fixed rate, TTFB, open streams)' : 'bench/load.ts only (wrk missing)',
    pinning: hasTaskset() ? 'servers under test pinned to core 1, load + upstreams to core 0' : 'no pinning',
    rounds, throughputMs, latencyMs, connections, ratePerSecond, openStreams, notes,
  }
  const input = { info, results, scenarios, targets: targets.map(reportTarget), protocols }
  const full = targets.some((t) => t.name === 'cache+otel') ? 'cache+otel' : 'default'
  const tables = renderTables(input)
  const verdicts = renderBudgets(budgets(input, full))
  console.log(`${tables}\n\n#### Budgets\n${verdicts}`)
  if (flags.write) {
    await writeResults(join(import.meta.dir, '..', 'BENCHMARKS.md'), `${tables}\n\n#### Budgets\n${verdicts}`)
    log('BENCHMARKS.md updated')
  }
}

function record(results: Results, t: Target, s: Scenario, r: Awaited<ReturnType<typeof measureThroughput>>): void {
  const c = results.cell(t.name, s.name)
  c.rps.push(r.rps)
  c.cpuUs.push(r.cpuUsPerRequest)
  c.busy.push(r.busy)
  c.errors += r.errors
  c.firstError ??= r.firstError
}

const fleet = await startFleet({ peer: flags.peer, variants: quick ? ['default', 'cache+otel'] : undefined })
const stop = () => void fleet.close().then(() => process.exit(130))
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
try {
  await run(fleet)
} finally {
  await fleet.close()
}
