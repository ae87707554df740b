/** Cache benchmark: median latency of a cached hit vs a miss through a real gateway and an instant simulator. */
import { startSimulator } from '../src/sim/server.ts'
import { startGateway } from '../test/support/gateway.ts'
import { startRedis } from '../test/support/redis.ts'
import { median } from './summary.ts'

const ROUNDS = Number(process.env.ROUNDS ?? 300)
const WARMUP = 30

interface Row {
  readonly cache: string
  readonly framing: string
  readonly missMs: number
  readonly hitMs: number
}

async function timed(url: string, body: string): Promise<{ ms: number; cache: string | null }> {
  const started = performance.now()
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } })
  await res.arrayBuffer()
  return { ms: performance.now() - started, cache: res.headers.get('x-switchyard-cache') }
}

async function measure(name: string, plugin: Record<string, unknown>, simUrl: string): Promise<Row[]> {
  await using gateway = await startGateway({ backends: [{ name: 'sim', kind: 'ollama', url: simUrl }], plugins: [plugin, { use: 'ollama-probe' }] })
  const url = `${gateway.url}/api/chat`
  const rows: Row[] = []
  for (const stream of [false, true]) {
    const body = (content: string) => JSON.stringify({ model: 'qwen2.5-coder:1.5b', stream, messages: [{ role: 'user', content }], options: { temperature: 0, num_predict: 24 } })
    const misses: number[] = []
    const hits: number[] = []
    for (let i = 0; i < WARMUP + ROUNDS; i++) {
      const miss = await timed(url, body(`${name} ${stream} prompt ${i}`))
      if (miss.cache !== 'miss') throw new Error(`expected a miss, got ${miss.cache}`)
      // Redis stores off the response path: wait for the entry before timing a hit.
      let hit = await timed(url, body(`${name} ${stream} prompt ${i}`))
      for (let tries = 0; hit.cache !== 'hit' && tries < 50; tries++) hit = await timed(url, body(`${name} ${stream} prompt ${i}`))
      if (hit.cache !== 'hit') throw new Error(`expected a hit, got ${hit.cache}`)
      if (i >= WARMUP) {
        misses.push(miss.ms)
        hits.push(hit.ms)
      }
    }
    rows.push({ cache: name, framing: stream ? 'NDJSON stream' : 'JSON', missMs: median(misses), hitMs: median(hits) })
  }
  return rows
}

const sim = startSimulator({ instant: true })
const rows: Row[] = []
try {
  rows.push(...(await measure('memory-cache', { use: 'memory-cache' }, sim.url)))
  if (Bun.which('redis-server')) {
    await using redis = await startRedis()
    rows.push(...(await measure('redis-cache', { use: 'redis-cache', options: { url: redis.url } }, sim.url)))
  } else console.error('redis-server not on PATH: redis-cache skipped')
} finally {
  await sim.close()
}

console.log(`Cache hit vs miss, ${ROUNDS} rounds each (median ms), instant simulator, Bun ${Bun.version}, ${navigator.hardwareConcurrency} CPUs`)
console.log('')
console.log('| cache | framing | miss (ms) | hit (ms) | miss / hit |')
console.log('| --- | --- | ---: | ---: | ---: |')
for (const r of rows) console.log(`| ${r.cache} | ${r.framing} | ${r.missMs.toFixed(3)} | ${r.hitMs.toFixed(3)} | ${(r.missMs / r.hitMs).toFixed(2)}x |`)
