/**
 * `bun run bench --scenario cascade`: the draft-and-audit loop against the simulator's quality model.
 *
 * Dev prompts (a stratified sample of data/routing-dev.jsonl) go through one gateway over two quality simulators
 * (two "GPUs"), once per policy: always the small model, always the large one, classifier routing, routing with
 * buffer escalation, routing with parallel escalation. Per policy: the share of good answers (the simulator's own
 * ground truth for the model that answered), GPU seconds (the gateway's `switchyard_gpu_seconds_total`, from the
 * simulator's Ollama timings), p50/p95 latency, escalation rate. Then each auditor's AUROC against that ground
 * truth, over drafts of the small and middle models. Quality here is the simulator's model of quality
 * (docs/simulator.md): the figures say how the loop behaves, not how good any real model is. Report, do not tune.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import heuristicAuditor from '../plugins/heuristic-auditor/index.ts'
import llmAuditor from '../plugins/llm-auditor/index.ts'
import type { AuditAnswer, ChatRequest, PluginDefinition, PluginInstance } from '../src/plugin/types.ts'
import { setUpPlugin } from './plugin-setup.ts'
import { createLogger } from '../src/log.ts'
import { judgeQuality } from '../src/sim/quality.ts'
import { startSimulator } from '../src/sim/server.ts'
import { startGatewayProcess } from '../test/support/process.ts'
import { percentile, sortedCopy } from './summary.ts'

const ROOT = resolve(import.meta.dir, '..')
const SMALL = 'qwen2.5-coder:1.5b'
const MIDDLE = 'qwen2.5-coder:7b'
const LARGE = 'deepseek-coder:33b'
/** Prompts per class in the sample, and requests in flight at once. */
const PER_CLASS = Number(process.env.CASCADE_PER_CLASS ?? 60)
const CONCURRENCY = 4
/** Simulated delays divided by this: latencies are the simulator's, 20 times faster than its models' nominal speeds. */
const SPEED = 20

interface Row {
  readonly prompt: string
  readonly label: string
}

const rows = (await Bun.file(join(ROOT, 'data/routing-dev.jsonl')).text()).split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Row)
/** Every PER_CLASS-th row of each class, in file order: the same sample each run. */
function sample(all: readonly Row[]): Row[] {
  const out: Row[] = []
  for (const label of ['SIMPLE', 'MODERATE', 'COMPLEX']) {
    const of = all.filter((r) => r.label === label)
    const step = Math.max(1, Math.floor(of.length / PER_CLASS))
    for (let i = 0; i < of.length && out.filter((r) => r.label === label).length < PER_CLASS; i += step) out.push(of[i]!)
  }
  return out
}
const prompts = sample(rows)

const sims = [startSimulator({ quality: true, speed: SPEED }), startSimulator({ quality: true, speed: SPEED })]
const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-cascade-'))
const configPath = join(dir, 'switchyard.config.json')
const tiers = { SIMPLE: [SMALL], MODERATE: [MIDDLE], COMPLEX: [LARGE] }
const POLICIES = {
  'always small': { SIMPLE: [SMALL], MODERATE: [SMALL], COMPLEX: [SMALL] },
  'always large': { SIMPLE: [LARGE], MODERATE: [LARGE], COMPLEX: [LARGE] },
  'classifier routing': tiers,
  'routing + buffer escalation': { ...tiers, escalate: { mode: 'buffer' } },
  'routing + parallel escalation': { ...tiers, escalate: { mode: 'parallel' } },
} as const
const routeNames = Object.keys(POLICIES).map((_, i) => `policy${i}`)
writeFileSync(configPath, JSON.stringify({
  backends: sims.map((s, i) => ({ name: `gpu${i}`, kind: 'ollama', url: s.url, gpu: i, maxConcurrency: 8 })),
  routes: Object.fromEntries(Object.values(POLICIES).map((route, i) => [routeNames[i], route])),
  // No cache: every request is generated, as the policies are compared on the same prompts.
  plugins: [{ use: 'learned-classifier' }, { use: 'tiered-selector' }, { use: 'ollama-probe' }, { use: 'prometheus' }, { use: 'sqlite-history' }],
}))
await using gw = await startGatewayProcess(configPath, { SWITCHYARD_STATE_DIR: dir })

const gpuSecondsTotal = async (): Promise<number> => {
  const text = await fetch(`${gw.url}/metrics`).then((r) => r.text())
  return text.split('\n').filter((l) => l.startsWith('switchyard_gpu_seconds_total{')).reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0)
}

interface Outcome {
  readonly prompt: string
  /** When the answer's headers arrived (epoch ms), and whether a parallel generation was cancelled for it. */
  readonly answeredAt: number
  readonly cancelledLarger: boolean
  /** The model that answered. */
  readonly model: string
  readonly ms: number
  readonly good: boolean
  readonly escalated: boolean
  readonly audited: boolean
}

async function runPolicy(route: string): Promise<Outcome[]> {
  const out: Outcome[] = []
  let next = 0
  const worker = async () => {
    while (next < prompts.length) {
      const row = prompts[next++]!
      const started = performance.now()
      const res = await fetch(`${gw.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: route, stream: false, messages: [{ role: 'user', content: row.prompt }] }) })
      const answeredAt = Date.now()
      await res.arrayBuffer()
      const model = res.headers.get('x-switchyard-model') ?? ''
      out.push({
        prompt: row.prompt, answeredAt, model, cancelledLarger: (res.headers.get('x-switchyard-reason') ?? '').includes('cancelled: the draft passed'),
        ms: performance.now() - started, good: res.ok && judgeQuality(model, row.prompt).good,
        escalated: res.headers.has('x-switchyard-escalated'), audited: res.headers.has('x-switchyard-audit'),
      })
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  return out
}

const fmt = (x: number, digits = 1) => x.toFixed(digits)
const lines: string[] = [
  `Dev prompts: ${prompts.length} (${PER_CLASS} per class, data/routing-dev.jsonl), ${CONCURRENCY} in flight, two quality simulators at speed x${SPEED}, default learned classifier and heuristic auditor.`,
  '',
  '| policy | good answers | GPU seconds (simulated) | vs always large | p50 ms | p95 ms | escalated | audited |',
  '| --- | --- | --- | --- | --- | --- | --- | --- |',
]
let largeGpu = 0
let parallel: Outcome[] = []
for (const [i, name] of Object.keys(POLICIES).entries()) {
  const before = await gpuSecondsTotal()
  for (const sim of sims) await fetch(`${sim.url}/sim/stats/reset`, { method: 'POST' })
  const outcomes = await runPolicy(routeNames[i]!)
  if (name === 'routing + parallel escalation') parallel = outcomes
  const gpu = (await gpuSecondsTotal()) - before
  if (name === 'always large') largeGpu = gpu
  const ms = sortedCopy(outcomes.map((o) => o.ms))
  const share = (f: (o: Outcome) => boolean) => `${fmt((100 * outcomes.filter(f).length) / outcomes.length)} %`
  lines.push(`| ${name} | ${share((o) => o.good)} | ${fmt(gpu)} | ${largeGpu ? `${fmt(gpu / largeGpu, 2)}x` : '—'} | ${fmt(percentile(ms, 50), 0)} | ${fmt(percentile(ms, 95), 0)} | ${share((o) => o.escalated)} | ${share((o) => o.audited)} |`)
  console.error(`${name}: done`)
}

// Parallel mode: how soon a passing draft's larger generation was cancelled (the simulators' abort timestamps against
// the moment the draft's answer reached the client), and an escalated answer's latency against the larger model alone.
{
  const aborts = (await Promise.all(sims.map((s) => fetch(`${s.url}/sim/stats`).then((r) => r.json() as Promise<{ aborts?: { abortedAt: number }[] }>)))).flatMap((s) => s.aborts ?? [])
  const passed = parallel.filter((o) => o.cancelledLarger).sort((a, b) => a.answeredAt - b.answeredAt)
  const sortedAborts = aborts.map((a) => a.abortedAt).sort((a, b) => a - b)
  // Each cancellation paired with the answer nearest before it; positive: the abort came after the client had its answer.
  const delays = sortedAborts.map((at) => at - Math.max(...passed.filter((o) => o.answeredAt <= at + 1_000).map((o) => o.answeredAt), -Infinity)).filter(Number.isFinite)
  const escalated = parallel.filter((o) => o.escalated)
  const ratios: number[] = []
  const timed = async (model: string, prompt: string) => {
    const started = performance.now()
    await fetch(`${gw.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model, stream: false, messages: [{ role: 'user', content: prompt }] }) }).then((r) => r.arrayBuffer())
    return performance.now() - started
  }
  // Both simulators with the larger model loaded: a cold start would be measured, not the escalation.
  for (const sim of sims) for (const model of [MIDDLE, LARGE]) await fetch(`${sim.url}/api/generate`, { method: 'POST', body: JSON.stringify({ model }) }).then((r) => r.arrayBuffer())
  // One at a time: the escalated prompt through the parallel route, then the model that answered it, named.
  for (const o of escalated.slice(0, 20)) ratios.push((await timed(routeNames[4]!, o.prompt)) / (await timed(o.model, o.prompt)))
  const r = sortedCopy(ratios)
  lines.push('', `Parallel mode: ${passed.length} passing drafts cancelled their larger generation (${sortedAborts.length} aborts seen by the simulators); abort after the draft reached the client: max ${delays.length ? fmt(Math.max(...delays), 0) : '—'} ms. ` +
    `${escalated.length} escalated answers; latency against the answering model alone on the same prompt (first 20, one at a time): median ${r.length ? fmt(percentile(r, 50), 2) : '—'}x, p95 ${r.length ? fmt(percentile(r, 95), 2) : '—'}x.`)
}

/** Area under the ROC curve of `score` for telling good answers (positives) from bad: ties count half. */
function auroc(items: readonly { score: number; good: boolean }[]): number {
  const good = items.filter((i) => i.good)
  const bad = items.filter((i) => !i.good)
  if (good.length === 0 || bad.length === 0) return Number.NaN
  let wins = 0
  for (const g of good) for (const b of bad) wins += g.score > b.score ? 1 : g.score === b.score ? 0.5 : 0
  return wins / (good.length * bad.length)
}

// Auditors against the simulator's ground truth: drafts of the small and middle models, straight from the simulator
// that also plays the judge (it knows the answers it generated; see docs/simulator.md).
const log = createLogger('bench')
const gateway = { backends: [{ name: 'gpu1', kind: 'ollama' as const, url: sims[1]!.url }] }
const setupAuditor = async (definition: PluginDefinition, options: Record<string, unknown>) =>
  (await setUpPlugin(definition, { options, log, gateway, baseDir: ROOT })) as PluginInstance<'auditor'>
const auditors = {
  'heuristic-auditor': await setupAuditor(heuristicAuditor as PluginDefinition, {}),
  'llm-auditor (judge deepseek-coder:33b, simulated)': await setupAuditor(llmAuditor as PluginDefinition, { backend: 'gpu1', model: LARGE }),
}
const drafts: { request: ChatRequest; answer: AuditAnswer; good: boolean; kind?: string }[] = []
for (const row of prompts) {
  for (const model of [SMALL, MIDDLE]) {
    const res = await fetch(`${sims[1]!.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model, stream: false, messages: [{ role: 'user', content: row.prompt }] }) })
    const json = (await res.json()) as { message: { content: string }; done_reason?: string; eval_count?: number }
    const quality = res.headers.get('x-sim-quality') ?? 'good'
    const request: ChatRequest = { protocol: 'ollama', operation: 'chat', model, messages: [{ role: 'user', content: row.prompt }], stream: false, body: {} }
    drafts.push({ request, answer: { text: json.message.content, model, finishReason: json.done_reason, outputTokens: json.eval_count }, good: quality === 'good', kind: quality === 'good' ? undefined : quality.slice(4) })
  }
}
lines.push('', `Auditors on ${drafts.length} drafts (${SMALL} and ${MIDDLE}; ${drafts.filter((d) => !d.good).length} bad by the simulator's ground truth):`, '', '| auditor | AUROC | bad drafts caught at 0.5 | good drafts failed at 0.5 | per-kind catch rate |', '| --- | --- | --- | --- | --- |')
for (const [name, auditor] of Object.entries(auditors)) {
  const scored: { score: number; good: boolean; kind?: string }[] = []
  for (const d of drafts) scored.push({ ...(await auditor.audit(d.request, d.answer, new AbortController().signal)), good: d.good, kind: d.kind })
  const bad = scored.filter((s) => !s.good)
  const good = scored.filter((s) => s.good)
  const kinds = [...new Set(bad.map((b) => b.kind))].sort().map((k) => {
    const of = bad.filter((b) => b.kind === k)
    return `${k} ${of.filter((b) => b.score < 0.5).length}/${of.length}`
  })
  lines.push(`| ${name} | ${fmt(auroc(scored), 3)} | ${bad.filter((s) => s.score < 0.5).length}/${bad.length} | ${good.filter((s) => s.score < 0.5).length}/${good.length} | ${kinds.join(', ')} |`)
}
console.log(lines.join('\n'))
for (const s of sims) await s.close()
