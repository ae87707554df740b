/**
 * `bun run bench --profile`: where a gateway's CPU per request goes, in steady state. One gateway (a bench config) and
 * the bare proxy on the server core, the zero-delay simulator and the load on the other; a long warm-up first (the
 * JIT keeps compiling for tens of thousands of requests), then closed-loop load while each thread's CPU is read from
 * /proc: the JS thread, Bun's HTTP client thread, the JIT workers, the GC helpers. With `--cpu-prof` the gateway also
 * runs under Bun's sampling profiler and the JS thread's samples are summed by part (native HTTP, our core, each
 * plugin, the OTel SDK, valibot, ...), in µs per request.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { gatewayVariants } from './configs.ts'
import { bareProxy, gatewayProcess, otlpSink, sim } from './fleet.ts'
import { runLoad } from './measure.ts'
import { type Child, threadCpuMsOf } from './processes.ts'
import { SCENARIOS, bodyTemplate, modelFor, pathOf } from './scenarios.ts'
import { median } from './summary.ts'

const USAGE = `usage: bun run bench --profile [--config NAME] [--scenario NAME] [--warm S] [--seconds S] [--rounds N] [--cpu-prof] [--no-bare]
  --config NAME    default (the built-in plugins), cache+otel (tracing exported to a local sink) or cache
  --scenario NAME  openai-chat (default), openai-chat-auto, ollama-stream, ... (the main run's scenarios)
  --warm S         seconds of load before measuring (default 15: the JIT compiles for tens of thousands of requests)
  --seconds S      seconds per measured round (default 5); --rounds N rounds (default 3), medians reported
  --cpu-prof       also run the gateway under Bun's sampling profiler and sum its JS samples by part of the code
  --no-bare        leave out the bare proxy`

const { values: flags } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    help: { type: 'boolean', short: 'h', default: false },
    profile: { type: 'boolean', default: false },
    config: { type: 'string', default: 'default' },
    scenario: { type: 'string', default: 'openai-chat' },
    warm: { type: 'string', default: '15' },
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    'cpu-prof': { type: 'boolean', default: false },
    'no-bare': { type: 'boolean', default: false },
  },
  strict: true,
})

if (flags.help) {
  console.log(USAGE)
  process.exit(0)
}

const ROOT = join(import.meta.dir, '..')
const SAMPLE_US = 200
const scenario = SCENARIOS.find((s) => s.name === flags.scenario)
if (!scenario) throw new Error(`no scenario ${flags.scenario}; one of ${SCENARIOS.map((s) => s.name).join(', ')}`)
const warmSeconds = Number(flags.warm)
const seconds = Number(flags.seconds)
const rounds = Number(flags.rounds)
const log = (line: string) => console.error(`[profile] ${line}`)

const THREAD_KINDS: readonly [string, RegExp][] = [
  ['JS thread', /^bun/],
  ['HTTP client', /HTTP Client/],
  ['JIT workers', /JIT|Warm/i],
  ['GC helpers', /Heap|GC|scavenger/i],
]
const kindOf = (name: string) => THREAD_KINDS.find(([, re]) => re.test(name))?.[0] ?? 'other'

/** A server under measurement: the gateway (its column named after its config) or the bare proxy. */
interface Measured {
  readonly name: string
  readonly child: Child
  readonly gateway: boolean
}

/** Per-request µs by thread kind over one closed-loop run. */
async function measure(t: Measured, durationMs: number): Promise<{ requests: number; us: Map<string, number> }> {
  const before = threadCpuMsOf(t.child.pid)
  const template = bodyTemplate(scenario!.protocol, modelFor(scenario!, t), scenario!.stream)
  const r = await runLoad({ mode: 'closed', url: t.child.url + pathOf(scenario!.protocol), template, connections: 64, durationMs })
  const after = threadCpuMsOf(t.child.pid)
  const us = new Map<string, number>()
  for (const [name, ms] of after) {
    const kind = kindOf(name)
    us.set(kind, (us.get(kind) ?? 0) + ((ms - (before.get(name) ?? 0)) * 1000) / Math.max(1, r.requests))
  }
  if (r.errors) log(`${t.name}: ${r.errors} errors (${r.firstError})`)
  return { requests: r.requests, us }
}

/** Parts of the code a profiled location belongs to. */
function partOf(fn: string, location: string): string {
  if (location === '[native code]') {
    if (fn === 'fetch') return 'native: fetch (upstream request)'
    if (/^(\(anonymous\)|anonymous|Response|text|arrayBuffer|json|decode|encode)$/.test(fn)) return 'native: server, Response, body'
    if (fn.startsWith('/')) return 'native: regular expressions'
    return 'native: builtins (Map, JSON, timers, abort signals, ...)'
  }
  const path = location.replace(/:\d+$/, '').replace(ROOT + '/', '')
  if (path.includes('node_modules/@opentelemetry/')) return 'OTel SDK'
  if (path.includes('node_modules/valibot')) return 'valibot (request validation)'
  if (path.includes('node_modules/hono')) return 'hono'
  if (path.startsWith('plugins/')) return `plugin ${path.split('/')[1]}`
  if (path.startsWith('src/telemetry') || path.startsWith('src/http/trace')) return 'core: span helpers'
  if (path.startsWith('src/')) return `core: ${path.split('/')[1]}`
  if (path.startsWith('node:') || path.startsWith('bun:') || path.startsWith('internal:')) return `runtime: ${path.split(':')[0]}:${path.split(':')[1]?.split('/')[0] ?? ''}`
  return path
}

/** Self samples of the JS thread by part, in µs per request, from Bun's markdown profile. */
function summarizeProfile(dir: string, requests: number): [string, number][] {
  const file = readdirSync(dir).find((f) => f.endsWith('.md'))
  if (!file) return []
  const text = readFileSync(join(dir, file), 'utf8')
  const details = text.split('## Function Details')[1] ?? ''
  const parts = new Map<string, number>()
  for (const m of details.matchAll(/### `([^`]*)`\n`([^`]*)` \| Self: [^|]*\| Total: [^|]*\| Samples: (\d+)/g)) {
    const part = partOf(m[1]!, m[2]!)
    parts.set(part, (parts.get(part) ?? 0) + (Number(m[3]) * SAMPLE_US) / requests)
  }
  return [...parts].sort((a, b) => b[1] - a[1])
}

const dir = mkdtempSync(join(tmpdir(), 'switchyard-profile-'))
const children: Child[] = []
try {
  const upstream = await sim('sim', ['--instant'])
  children.push(upstream)
  const sink = await otlpSink()
  children.push(sink)
  const up = { fast: upstream.url, slow: upstream.url, otlp: sink.url }
  const variant = gatewayVariants(up).find((v) => v.name === flags.config)
  if (!variant) throw new Error(`no config ${flags.config}; one of ${gatewayVariants(up).map((v) => v.name).join(', ')}`)
  const profDir = join(dir, 'prof')
  const prof = flags['cpu-prof'] ? ['--cpu-prof-md', `--cpu-prof-dir=${profDir}`, `--cpu-prof-interval=${SAMPLE_US}`] : []
  const gatewayChild = await gatewayProcess(variant, up, dir, prof)
  children.push(gatewayChild)
  const gateway: Measured = { name: variant.name, child: gatewayChild, gateway: true }
  const targets: Measured[] = [gateway]
  if (!flags['no-bare']) {
    const bare = await bareProxy('bare', upstream.url)
    children.push(bare)
    targets.push({ name: 'bare', child: bare, gateway: false })
  }
  log(`warm-up: ${warmSeconds} s each`)
  /** Requests the gateway served in all (the profile covers its whole life). */
  let served = 0
  for (const t of targets) {
    const warm = await measure(t, warmSeconds * 1000)
    if (t.gateway) served += warm.requests
  }
  const results = new Map<string, Map<string, number[]>>()
  for (let round = 1; round <= rounds; round++) {
    log(`round ${round}/${rounds}`)
    for (const t of targets) {
      const m = await measure(t, seconds * 1000)
      if (t.gateway) served += m.requests
      const byKind = results.get(t.name) ?? new Map<string, number[]>()
      results.set(t.name, byKind)
      for (const [kind, us] of m.us) byKind.set(kind, [...(byKind.get(kind) ?? []), us])
    }
  }
  console.log(`CPU per request by thread (µs, median of ${rounds} rounds of ${seconds} s after ${warmSeconds} s of warm-up; scenario ${scenario.name}, config ${variant.name})`)
  console.log('| thread | ' + targets.map((t) => t.name).join(' | ') + ' |')
  console.log('| --- |' + targets.map(() => ' ---: |').join(''))
  const kinds = [...THREAD_KINDS.map(([k]) => k), 'other']
  const total = (name: string) => kinds.reduce((sum, k) => sum + median(results.get(name)?.get(k) ?? [0]), 0)
  for (const kind of kinds) console.log(`| ${kind} | ${targets.map((t) => median(results.get(t.name)?.get(kind) ?? [0]).toFixed(0)).join(' | ')} |`)
  console.log(`| total | ${targets.map((t) => total(t.name).toFixed(0)).join(' | ')} |`)
  if (flags['cpu-prof']) {
    // The profile is written when the gateway exits.
    await gatewayChild.stop()
    children.splice(children.indexOf(gatewayChild), 1)
    const parts = summarizeProfile(profDir, served)
    console.log(`\nJS thread samples of ${variant.name} by part (µs per request over all ${served} requests, warm-up included; ${SAMPLE_US} µs sampling)`)
    console.log('| part | µs |\n| --- | ---: |')
    for (const [part, us] of parts.slice(0, 25)) console.log(`| ${part} | ${us.toFixed(1)} |`)
  }
} finally {
  await Promise.all(children.map((c) => c.stop()))
  rmSync(dir, { recursive: true, force: true })
}
