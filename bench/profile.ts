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
import { gatewayConfig, gatewayVariants } from './configs.ts'
import { runLoad } from './measure.ts'
import { BUN_ENV, type Child, LOAD_CORE, SERVER_CORE, freePort, startChild } from './processes.ts'
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
const bun = process.execPath
const TICKS_PER_SECOND = 100
const SAMPLE_US = 200
const scenario = SCENARIOS.find((s) => s.name === flags.scenario)
if (!scenario) throw new Error(`no scenario ${flags.scenario}; one of ${SCENARIOS.map((s) => s.name).join(', ')}`)
const warmSeconds = Number(flags.warm)
const seconds = Number(flags.seconds)
const rounds = Number(flags.rounds)
const log = (line: string) => console.error(`[profile] ${line}`)

/** CPU milliseconds per thread kind (thread names with their numbers taken out). */
function threadCpuMs(pid: number): Map<string, number> {
  const out = new Map<string, number>()
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
    } catch {
      continue
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/\d+/g, '').trim()
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ms = ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND
    out.set(name, (out.get(name) ?? 0) + ms)
  }
  return out
}

const THREAD_KINDS: readonly [string, RegExp][] = [
  ['JS thread', /^bun/],
  ['HTTP client', /HTTP Client/],
  ['JIT workers', /JIT|Warm/i],
  ['GC helpers', /Heap|GC|scavenger/i],
]
const kindOf = (name: string) => THREAD_KINDS.find(([, re]) => re.test(name))?.[0] ?? 'other'

/** Per-request µs by thread kind over one closed-loop run. */
async function measure(child: Child, url: string, durationMs: number): Promise<{ requests: number; us: Map<string, number> }> {
  const before = threadCpuMs(child.pid)
  const template = bodyTemplate(scenario!.protocol, modelFor(scenario!, { gateway: child.name !== 'bare' }), scenario!.stream)
  const r = await runLoad({ mode: 'closed', url: url + pathOf(scenario!.protocol), template, connections: 64, durationMs })
  const after = threadCpuMs(child.pid)
  const us = new Map<string, number>()
  for (const [name, ms] of after) {
    const kind = kindOf(name)
    us.set(kind, (us.get(kind) ?? 0) + ((ms - (before.get(name) ?? 0)) * 1000) / Math.max(1, r.requests))
  }
  if (r.errors) log(`${child.name}: ${r.errors} errors (${r.firstError})`)
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
  const simPort = freePort()
  const sim = await startChild({ name: 'sim', cmd: [bun, join(ROOT, 'src/sim/main.ts'), '--port', String(simPort), '--instant'], url: `http://127.0.0.1:${simPort}`, core: LOAD_CORE, env: BUN_ENV })
  children.push(sim)
  const sinkPort = freePort()
  const sink = await startChild({ name: 'otlp-sink', cmd: [bun, join(import.meta.dir, 'otlp-sink.ts'), '--port', String(sinkPort)], url: `http://127.0.0.1:${sinkPort}`, readyPath: '/stats', core: LOAD_CORE })
  children.push(sink)
  const up = { fast: sim.url, slow: sim.url, otlp: sink.url }
  const variant = gatewayVariants(up).find((v) => v.name === flags.config)
  if (!variant) throw new Error(`no config ${flags.config}; one of ${gatewayVariants(up).map((v) => v.name).join(', ')}`)
  const port = freePort()
  const path = join(dir, 'gateway.json')
  await Bun.write(path, JSON.stringify(gatewayConfig(variant, up, port)))
  const profDir = join(dir, 'prof')
  const prof = flags['cpu-prof'] ? ['--cpu-prof-md', `--cpu-prof-dir=${profDir}`, `--cpu-prof-interval=${SAMPLE_US}`] : []
  const gateway = await startChild({ name: variant.name, cmd: [bun, ...prof, join(ROOT, 'src/main.ts'), '--config', path, '--port', String(port)], url: `http://127.0.0.1:${port}`, core: SERVER_CORE, env: BUN_ENV })
  children.push(gateway)
  const targets: Child[] = [gateway]
  if (!flags['no-bare']) {
    const barePort = freePort()
    const bare = await startChild({ name: 'bare', cmd: [bun, join(import.meta.dir, 'bare-proxy.ts'), '--port', String(barePort), '--upstream', sim.url], url: `http://127.0.0.1:${barePort}`, core: SERVER_CORE, env: BUN_ENV })
    children.push(bare)
    targets.push(bare)
  }
  log(`warm-up: ${warmSeconds} s each`)
  let served = 0
  for (const t of targets) served += (await measure(t, t.url, warmSeconds * 1000)).requests * (t === gateway ? 1 : 0)
  const results = new Map<string, Map<string, number[]>>()
  for (let round = 1; round <= rounds; round++) {
    log(`round ${round}/${rounds}`)
    for (const t of targets) {
      const m = await measure(t, t.url, seconds * 1000)
      if (t === gateway) served += m.requests
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
    await gateway.stop()
    children.splice(children.indexOf(gateway), 1)
    const parts = summarizeProfile(profDir, served)
    console.log(`\nJS thread samples of ${variant.name} by part (µs per request over all ${served} requests, warm-up included; ${SAMPLE_US} µs sampling)`)
    console.log('| part | µs |\n| --- | ---: |')
    for (const [part, us] of parts.slice(0, 25)) console.log(`| ${part} | ${us.toFixed(1)} |`)
  }
} finally {
  await Promise.all(children.map((c) => c.stop()))
  rmSync(dir, { recursive: true, force: true })
}
