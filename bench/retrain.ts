/**
 * `bun run bench --retrain`: request latency while the classifier retrains on the same gateway. A gateway process
 * serves `auto` requests from an instant simulator at a fixed pace; latency is measured with no retrain running
 * (baseline, same process, same run) and while `POST /router/retrain` trains a candidate on 40 corrections (the first
 * retrain of the process, so it also featurizes the shipped rows). The retrain runs in a worker thread; the gateway's
 * own CPU time on its main thread during the retrain and its RSS (from /proc, where there is one) show what is left.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
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
/** CPU ms of the gateway's main thread and of the whole process, and its RSS in MB; undefined without /proc. */
const usage = () => {
  const pid = gw.proc.pid
  if (!existsSync(`/proc/${pid}/stat`)) return undefined
  const ticks = (path: string) => {
    const f = readFileSync(path, 'utf8').split(') ')[1]!.split(' ')
    return (Number(f[11]) + Number(f[12])) * 10
  }
  const rss = Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)?.[1]) / 1024
  return { mainMs: ticks(`/proc/${pid}/task/${pid}/stat`), processMs: ticks(`/proc/${pid}/stat`), rssMb: rss }
}
await pace(100)
const idle = await pace(400)
const before = usage()
const started = performance.now()
const retrain = fetch(`${gw.url}/router/retrain`, { method: 'POST', headers: ADMIN }).then((r) => r.json())
const during = await pace(retrain)
const result = (await retrain) as { promoted: boolean; version: string }
const retrainMs = performance.now() - started
const after = usage()

const row = (name: string, xs: number[]) => {
  const s = sortedCopy(xs)
  return `| ${name} | ${xs.length} | ${percentile(s, 50).toFixed(2)} | ${percentile(s, 99).toFixed(2)} | ${s.at(-1)!.toFixed(2)} |`
}
console.log(`retrain on 40 corrections: ${(retrainMs / 1000).toFixed(1)} s wall, promoted ${result.promoted} (${result.version})`)
if (before && after) {
  console.log(`gateway CPU during the retrain: ${((after.processMs - before.processMs) / 1000).toFixed(2)} s in all, ` +
    `${((after.mainMs - before.mainMs) / 1000).toFixed(2)} s on the main thread (serving ${during.length} requests); ` +
    `RSS ${before.rssMb.toFixed(0)} MB before, ${after.rssMb.toFixed(0)} MB after`)
}
console.log('')
console.log('| requests (auto, sequential, 5 ms apart) | n | p50 ms | p99 ms | max ms |')
console.log('| --- | --- | --- | --- | --- |')
console.log(row('no retrain (baseline)', idle))
console.log(row('during the retrain', during))
const p99 = (xs: number[]) => percentile(sortedCopy(xs), 99)
console.log(`\np99 during / baseline: ${(p99(during) / p99(idle)).toFixed(2)}x`)
await sim.close()
