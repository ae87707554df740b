/**
 * `bun run bench --retrain`: request latency while the classifier retrains on the same gateway. A gateway process
 * (pinned to one core where taskset exists) serves `auto` requests from an instant simulator at a fixed pace;
 * latency is measured with no retrain running (baseline, same process, same run) and while `POST /router/retrain`
 * trains a candidate on 40 corrections. The retrain yields to the event loop between batches; p99 shows what is left.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { startSimulator } from '../src/sim/server.ts'
import { startGatewayProcess } from '../test/support/process.ts'
import { percentile, sortedCopy } from './summary.ts'

const ROOT = resolve(import.meta.dir, '..')
const ADMIN = { authorization: 'Bearer bench-admin-key', 'content-type': 'application/json' }
const PACE_MS = 5

const sim = startSimulator({ instant: true })
const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-retrain-'))
const configPath = join(dir, 'switchyard.config.json')
writeFileSync(configPath, JSON.stringify({
  auth: { adminKey: 'bench-admin-key' },
  backends: [{ name: 'sim', kind: 'ollama', url: sim.url }],
  routes: { auto: { SIMPLE: ['qwen2.5-coder:1.5b'], MODERATE: ['qwen2.5-coder:7b'], COMPLEX: ['deepseek-coder:33b'] } },
}))
await using gw = await startGatewayProcess(configPath, { SWITCHYARD_STATE_DIR: dir })

const rows = (await Bun.file(join(ROOT, 'data/routing-dev.jsonl')).text()).split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as { prompt: string; source: string })
const ask = async (prompt: string) => {
  const t = performance.now()
  const res = await fetch(`${gw.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'auto', stream: false, messages: [{ role: 'user', content: prompt }] }) })
  await res.arrayBuffer()
  return { ms: performance.now() - t, id: res.headers.get('x-switchyard-request-id')! }
}
// 40 corrections: one family one class down.
for (const row of rows.filter((r) => r.source === 'mbpp-plus').slice(0, 40)) {
  const { id } = await ask(row.prompt)
  await fetch(`${gw.url}/router/feedback`, { method: 'POST', headers: ADMIN, body: JSON.stringify({ requestId: id, label: 'SIMPLE' }) })
}
const prompts = rows.filter((r) => r.source !== 'mbpp-plus').map((r) => r.prompt)
let next = 0
/** Requests one after another at a fixed pace until `done` resolves (or `count` are sent). */
async function pace(until: Promise<unknown> | number): Promise<number[]> {
  const out: number[] = []
  let finished = false
  if (typeof until !== 'number') void until.finally(() => (finished = true))
  while (typeof until === 'number' ? out.length < until : !finished) {
    out.push((await ask(`${prompts[next++ % prompts.length]} (${next})`)).ms)
    await Bun.sleep(PACE_MS)
  }
  return out
}
await pace(100)
const idle = await pace(400)
const started = performance.now()
const retrain = fetch(`${gw.url}/router/retrain`, { method: 'POST', headers: ADMIN }).then((r) => r.json())
const during = await pace(retrain)
const result = (await retrain) as { promoted: boolean; version: string }
const retrainMs = performance.now() - started

const row = (name: string, xs: number[]) => {
  const s = sortedCopy(xs)
  return `| ${name} | ${xs.length} | ${percentile(s, 50).toFixed(2)} | ${percentile(s, 99).toFixed(2)} | ${s.at(-1)!.toFixed(2)} |`
}
console.log(`retrain on 40 corrections: ${(retrainMs / 1000).toFixed(1)} s wall, promoted ${result.promoted} (${result.version})\n`)
console.log('| requests (auto, sequential, 5 ms apart) | n | p50 ms | p99 ms | max ms |')
console.log('| --- | --- | --- | --- | --- |')
console.log(row('no retrain (baseline)', idle))
console.log(row('during the retrain', during))
const p99 = (xs: number[]) => percentile(sortedCopy(xs), 99)
console.log(`\np99 during / baseline: ${(p99(during) / p99(idle)).toFixed(2)}x`)
await sim.close()
