/** `bun bench/tracing.ts`: gateway overhead with tracing on (OTLP to a local sink) vs off, medians over rounds. */
import { parseArgs } from 'node:util'
import { shutdownTracing } from '../plugins/otel/sdk.ts'
import { startSimulator } from '../src/sim/server.ts'
import { startGateway } from '../test/support/gateway.ts'
import { median } from './summary.ts'

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: { rounds: { type: 'string', default: '5' }, requests: { type: 'string', default: '2000' }, concurrency: { type: 'string', default: '32' } },
})
const rounds = Number(values.rounds)
const requests = Number(values.requests)
const concurrency = Number(values.concurrency)

/** An OTLP/HTTP sink: accepts every export, counts spans' bytes. */
let exportedBytes = 0
const sink = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  async fetch(req) {
    exportedBytes += (await req.arrayBuffer()).byteLength
    return new Response(new Uint8Array(), { headers: { 'content-type': 'application/x-protobuf' } })
  },
})

const sim = startSimulator({ instant: true })
const bodyFor = (model: string) => JSON.stringify({ model, stream: false, messages: [{ role: 'user', content: 'implement a function that adds numbers' }] })
const routes = { auto: { SIMPLE: ['qwen2.5-coder:1.5b'], MODERATE: ['qwen2.5-coder:7b'], COMPLEX: ['qwen2.5-coder:7b'] } }

/** Sequential latency (median per request) and concurrent throughput; the direct baseline names the model auto resolves to. */
async function measure(url: string, path: string, model = 'auto'): Promise<{ latencyUs: number; rps: number }> {
  const body = bodyFor(model)
  const send = async () => {
    const res = await fetch(`${url}${path}`, { method: 'POST', body })
    await res.arrayBuffer()
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`)
  }
  for (let i = 0; i < 50; i++) await send()
  const latencies: number[] = []
  for (let i = 0; i < 300; i++) {
    const t = performance.now()
    await send()
    latencies.push((performance.now() - t) * 1000)
  }
  let next = 0
  const t = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < requests) await send()
  }))
  return { latencyUs: median(latencies), rps: requests / ((performance.now() - t) / 1000) }
}

async function withGateway(tracing: boolean, work: (url: string) => Promise<void>): Promise<void> {
  const plugins = [{ use: 'ollama-probe', options: {} }, { use: 'keyword-classifier' }, ...(tracing ? [{ use: 'otel', options: { endpoint: sink.url.origin } }] : [])]
  const gateway = await startGateway({ backends: [{ name: 'gpu0', kind: 'ollama', url: sim.url }], routes, plugins })
  try {
    await work(gateway.url)
  } finally {
    await gateway.close()
    if (tracing) await shutdownTracing()
  }
}

const results = { direct: [] as { latencyUs: number; rps: number }[], off: [] as { latencyUs: number; rps: number }[], on: [] as { latencyUs: number; rps: number }[] }
for (let round = 0; round < rounds; round++) {
  results.direct.push(await measure(sim.url, '/v1/chat/completions', 'qwen2.5-coder:7b'))
  await withGateway(false, async (url) => void results.off.push(await measure(url, '/v1/chat/completions')))
  await withGateway(true, async (url) => void results.on.push(await measure(url, '/v1/chat/completions')))
}

const row = (name: string, xs: { latencyUs: number; rps: number }[]) => ({ name, latencyUs: median(xs.map((x) => x.latencyUs)), rps: median(xs.map((x) => x.rps)) })
const direct = row('simulator direct', results.direct)
const off = row('gateway, tracing off', results.off)
const on = row('gateway, tracing on (OTLP http/protobuf to a local sink)', results.on)
const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : 'n/a')
console.log(`tracing overhead: ${rounds} rounds, ${requests} requests at concurrency ${concurrency} (throughput), 300 sequential (latency); medians over rounds`)
console.log(`Bun ${Bun.version}, ${navigator.hardwareConcurrency} CPUs; POST /v1/chat/completions model=auto (keyword classifier), instant simulator\n`)
console.log('| setup | median latency (µs) | overhead vs direct (µs) | throughput (req/s) |')
console.log('| --- | ---: | ---: | ---: |')
for (const r of [direct, off, on]) console.log(`| ${r.name} | ${fmt(r.latencyUs)} | ${r === direct ? '-' : fmt(r.latencyUs - direct.latencyUs)} | ${fmt(r.rps)} |`)
console.log(`\nratio on/off: latency ${(on.latencyUs / off.latencyUs).toFixed(3)}, added overhead ${((on.latencyUs - direct.latencyUs) / (off.latencyUs - direct.latencyUs)).toFixed(2)}x, throughput ${(on.rps / off.rps).toFixed(3)}`)
console.log(`exported to the sink: ${(exportedBytes / 1024).toFixed(0)} KiB`)
await sim.close()
await sink.stop(true)
process.exit(0)
