/** The Bun load generator (fallback for wrk, and the fixed-rate / TTFB / open-streams tool): `bun bench/load.ts '<job json>'`. */
import type { LoadJob, LoadResult } from './load-args.ts'
import { MARKER } from './scenarios.ts'
import { percentile, sortedCopy } from './summary.ts'
import { messageOf } from '../src/errors.ts'

const job = JSON.parse(Bun.argv[2] ?? '{}') as LoadJob
const prefix = Math.random().toString(36).slice(2, 8)
let counter = 0
const headers = { 'content-type': 'application/json', ...job.headers }
const nextBody = () => job.template.replace(MARKER, `${prefix}-${++counter}`)

let errors = 0
let firstError: string | undefined
function failed(why: string): void {
  errors++
  firstError ??= why
}

/** Send one request; resolves with the microseconds to the first body chunk and to the end, or undefined on failure. */
async function send(startNs: number): Promise<{ firstUs: number; totalUs: number } | undefined> {
  try {
    const res = await fetch(job.url, { method: 'POST', body: nextBody(), headers })
    if (!res.ok || !res.body) {
      failed(`HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`)
      return undefined
    }
    let firstUs = -1
    for await (const _chunk of res.body) if (firstUs < 0) firstUs = (Bun.nanoseconds() - startNs) / 1e3
    const totalUs = (Bun.nanoseconds() - startNs) / 1e3
    return { firstUs: firstUs < 0 ? totalUs : firstUs, totalUs }
  } catch (error) {
    failed(messageOf(error))
    return undefined
  }
}

function summarize(samples: number[], durationMs: number, extra: Partial<LoadResult> = {}): LoadResult {
  const sorted = sortedCopy(samples)
  return {
    requests: samples.length,
    errors,
    durationMs,
    latencyUs: { p50: percentile(sorted, 50), p99: percentile(sorted, 99), p999: percentile(sorted, 99.9), max: sorted.at(-1) ?? Number.NaN },
    ...(firstError ? { firstError } : {}),
    ...extra,
  }
}

async function closedLoop(): Promise<LoadResult> {
  const samples: number[] = []
  const started = performance.now()
  const deadline = started + (job.durationMs ?? 3_000)
  const worker = async () => {
    while (performance.now() < deadline) {
      const r = await send(Bun.nanoseconds())
      if (r) samples.push(r.totalUs)
    }
  }
  await Promise.all(Array.from({ length: job.connections ?? 64 }, worker))
  return summarize(samples, performance.now() - started)
}

/**
 * Fixed arrival rate (each request sent at its slot, never early, whatever the answers do). Latency counts from
 * the actual send: timer slack would otherwise blur sub-millisecond differences; at a light rate nothing queues.
 */
async function openLoop(): Promise<LoadResult> {
  const rate = job.ratePerSecond ?? 500
  const total = Math.max(1, Math.round((rate * (job.durationMs ?? 3_000)) / 1000))
  const samples: number[] = []
  const pending: Promise<void>[] = []
  const startNs = Bun.nanoseconds()
  for (let i = 0; i < total; i++) {
    const dueNs = startNs + (i * 1e9) / rate
    const waitMs = (dueNs - Bun.nanoseconds()) / 1e6
    if (waitMs > 0) await Bun.sleep(waitMs)
    pending.push(send(Bun.nanoseconds()).then((r) => void (r && samples.push(r.totalUs))))
  }
  await Promise.all(pending)
  return summarize(samples, (Bun.nanoseconds() - startNs) / 1e6)
}

/** A few streams at a time (light load): time to the first body chunk and to the end of each. */
async function firstByte(): Promise<LoadResult> {
  const first: number[] = []
  const totals: number[] = []
  const started = performance.now()
  let left = job.count ?? 40
  const worker = async () => {
    while (left-- > 0) {
      const r = await send(Bun.nanoseconds())
      if (!r) continue
      first.push(r.firstUs)
      totals.push(r.totalUs)
    }
  }
  await Promise.all(Array.from({ length: job.connections ?? 1 }, worker))
  const sorted = sortedCopy(totals)
  return summarize(first, performance.now() - started, { totalUs: { p50: percentile(sorted, 50), p99: percentile(sorted, 99) } })
}

async function holdOpen(): Promise<LoadResult> {
  let open = 0
  let maxOpen = 0
  const samples: number[] = []
  const started = performance.now()
  const one = async () => {
    const startNs = Bun.nanoseconds()
    try {
      const res = await fetch(job.url, { method: 'POST', body: nextBody(), headers })
      if (!res.ok || !res.body) return failed(`HTTP ${res.status}`)
      let counted = false
      for await (const _chunk of res.body) {
        if (counted) continue
        counted = true
        maxOpen = Math.max(maxOpen, ++open)
      }
      if (counted) open--
      samples.push((Bun.nanoseconds() - startNs) / 1e3)
    } catch (error) {
      failed(messageOf(error))
    }
  }
  await Promise.all(Array.from({ length: job.count ?? 1000 }, one))
  return summarize(samples, performance.now() - started, { openAtOnce: maxOpen })
}

const run = { closed: closedLoop, open: openLoop, ttfb: firstByte, hold: holdOpen }[job.mode]
console.log(JSON.stringify(await run()))
