/** Saturation load with wrk: a generated Lua script gives every request a unique prompt and prints a JSON summary. */
import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { LoadResult } from './load-args.ts'
import { LOAD_CORE, pinned } from './processes.ts'
import { MARKER } from './scenarios.ts'

export function hasWrk(): boolean {
  return Bun.which('wrk') !== null
}

const luaString = (s: string) => `[==[${s}]==]`

function script(template: string, headers: Record<string, string>): string {
  const at = template.indexOf(MARKER)
  const before = template.slice(0, at)
  const after = template.slice(at + MARKER.length)
  const prefix = Math.random().toString(36).slice(2, 8)
  const headerLines = Object.entries({ 'Content-Type': 'application/json', ...headers })
    .map(([k, v]) => `wrk.headers[ ${luaString(k)} ] = ${luaString(v)}`)
    .join('\n')
  return `wrk.method = "POST"
${headerLines}
local before, after, prefix, n = ${luaString(before)}, ${luaString(after)}, "${prefix}", 0
function setup(thread) n = n + 1; thread:set("tid", n) end
function init(args) tid = tid or 0 end
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, before .. prefix .. "-" .. tid .. "-" .. n .. after)
end
${process.env.BENCH_DEBUG ? 'local shown = false\nfunction response(status, headers, body) if status > 299 and not shown then shown = true; io.stderr:write("first non-2xx: " .. status .. " " .. body .. "\\n") end end' : ''}
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"durationUs":%d,"errors":%d,"status":%d,"p50":%d,"p99":%d,"p999":%d,"max":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max))
end
`
}

export interface WrkJob {
  readonly url: string
  readonly template: string
  readonly headers?: Record<string, string>
  readonly connections: number
  readonly durationMs: number
}

export async function runWrk(job: WrkJob): Promise<LoadResult> {
  const path = join(tmpdir(), `switchyard-bench-${process.pid}-${Math.random().toString(36).slice(2)}.lua`)
  await Bun.write(path, script(job.template, job.headers ?? {}))
  try {
    const seconds = Math.max(1, Math.round(job.durationMs / 1000))
    const cmd = pinned(LOAD_CORE, ['wrk', '-t1', `-c${job.connections}`, `-d${seconds}s`, '--timeout', '10s', '-s', path, job.url])
    const proc = Bun.spawn(cmd, { stdout: 'pipe', stderr: 'pipe' })
    const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()])
    await proc.exited
    const line = out.split('\n').find((l) => l.startsWith('WRKJSON '))
    if (process.env.BENCH_DEBUG && err) console.error(err.trim())
    if (!line) throw new Error(`wrk printed no summary (exit ${proc.exitCode}): ${(err || out).slice(-500)}`)
    const s = JSON.parse(line.slice('WRKJSON '.length)) as Record<string, number>
    const errors = (s.errors ?? 0) + (s.status ?? 0)
    return {
      requests: (s.requests ?? 0) - (s.status ?? 0),
      errors,
      durationMs: (s.durationUs ?? 0) / 1e3,
      latencyUs: { p50: s.p50 ?? Number.NaN, p99: s.p99 ?? Number.NaN, p999: s.p999 ?? Number.NaN, max: s.max ?? Number.NaN },
      ...(errors ? { firstError: `${s.status} non-2xx, ${s.errors} socket errors` } : {}),
    }
  } finally {
    rmSync(path, { force: true })
  }
}
