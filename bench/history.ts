/**
 * `bun run bench --history`: the CPU the decision history costs a request. Records realistic decisions (a learned
 * classifier's features included) through the same `recordDecision` the gateway calls, into the `sqlite-history`
 * store, and reports CPU per decision: the request-path part (building the row and queueing it) and the batched
 * write that follows off the request path. Baseline in the same process: the same loop without recording.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import learnedClassifier from '../plugins/learned-classifier/index.ts'
import sqliteHistory from '../plugins/sqlite-history/index.ts'
import { recordDecision } from '../src/pipeline/history.ts'
import { createLearningState } from '../src/pipeline/learning.ts'
import type { GatewayDeps } from '../src/pipeline/deps.ts'
import type { Classification, PipelineEvent } from '../src/plugin/index.ts'
import { setUpPlugin } from './plugin-setup.ts'
import { parseOpenAI } from '../src/protocols/openai/parse.ts'
import { PROMPT } from './scenarios.ts'

const N = Number(process.env.HISTORY_BENCH_N ?? 20_000)
const ROUNDS = 3
const log = { debug() {}, info() {}, warn() {}, error() {} }
const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-history-'))
const signal = new AbortController().signal
const classifier = await setUpPlugin(learnedClassifier, { signal, log })
const history = await setUpPlugin(sqliteHistory, { signal, log, baseDir: dir, stateDir: dir })
const deps = {
  plugins: { of: (kind: string) => (kind === 'history' ? [{ name: 'sqlite-history', kind, instance: history }] : []) },
  config: { feedback: { implicit: true, retryWindowMs: 600_000 } },
  learning: createLearningState(),
  log,
} as unknown as GatewayDeps

const shapes = {
  'one message': parseOpenAI('chat', { model: 'auto', messages: [{ role: 'user', content: PROMPT }] }),
  '12-message chat': parseOpenAI('chat', { model: 'auto', messages: Array.from({ length: 12 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `${PROMPT} `.repeat(8) })) }),
}

const cpuUs = () => {
  const u = process.cpuUsage()
  return u.user + u.system
}

function events(request: (typeof shapes)['one message'], classification: Classification, round: number): PipelineEvent[] {
  return Array.from({ length: N }, (_, i) => ({
    stage: 'response', requestId: `bench-${round}-${i}`, timeMs: Date.now(), request, route: 'auto', classification,
    model: 'qwen2.5-coder:7b', backend: 'sim', status: 200, durationMs: 3.2, ttftMs: 1.1, inputTokens: 40, outputTokens: 120, cache: 'miss',
  }))
}

console.log(`decision history: CPU per request (N=${N} decisions a round, ${ROUNDS} rounds, medians)\n`)
console.log('| request | baseline loop µs | + recordDecision µs (request path) | + batched write µs (off the path) | total added µs |')
console.log('| --- | --- | --- | --- | --- |')
for (const [name, request] of Object.entries(shapes)) {
  const classification = { ...(classifier.classify(request, signal) as Classification), classifier: 'learned-classifier' }
  const base: number[] = []
  const path: number[] = []
  const write: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    const list = events(request, classification, round)
    let sink = 0
    let t = cpuUs()
    for (const e of list) sink += e.requestId.length
    base.push((cpuUs() - t) / N)
    t = cpuUs()
    for (const e of list) recordDecision(deps, e)
    path.push((cpuUs() - t) / N)
    t = cpuUs()
    await history.flush?.()
    write.push((cpuUs() - t) / N)
    if (sink < 0) console.log(sink)
  }
  const med = (xs: number[]) => xs.toSorted((a, b) => a - b)[Math.floor(xs.length / 2)]!
  const [b, p, w] = [med(base), med(path), med(write)]
  console.log(`| ${name} | ${b.toFixed(2)} | ${(p - b).toFixed(2)} | ${w.toFixed(2)} | ${(p - b + w).toFixed(2)} |`)
}
console.log(`\nbudget: <= 10 µs of CPU per request for recording (the decision history's budget)`)
