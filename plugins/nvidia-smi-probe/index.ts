/** Probe plugin reporting GPU memory, utilization, temperature and power from nvidia-smi (local or via a command prefix). */
import * as v from 'valibot'
import { definePlugin } from 'switchyard/plugin'
import type { HealthReport } from 'switchyard/plugin'
import { describeExitCode } from './exit-codes.ts'
import { GPU_QUERY_ARGS, parseGpuCsv } from './parse-gpu-csv.ts'
import { runCommand } from './run-command.ts'
import type { CommandResult } from './run-command.ts'

export default definePlugin({
  name: 'nvidia-smi-probe',
  kind: 'probe',
  options: v.strictObject({
    intervalMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(100)), 5_000),
    timeoutMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 2_000),
    /** The nvidia-smi executable: a name looked up on PATH, or a path. */
    binary: v.optional(v.pipe(v.string(), v.minLength(1)), 'nvidia-smi'),
    /** Used instead of `binary` as a prefix, e.g. ["ssh", "gpu-host", "nvidia-smi"]; the query flags are appended. */
    command: v.optional(v.pipe(v.array(v.pipe(v.string(), v.minLength(1))), v.minLength(1))),
    /** Extra environment for the command, over the gateway's own (PATH, CUDA_VISIBLE_DEVICES, …). */
    env: v.optional(v.record(v.string(), v.string())),
  }),
  setup(ctx) {
    const { intervalMs, timeoutMs, binary, command, env } = ctx.options
    const cmd = [...(command ?? [binary]), ...GPU_QUERY_ARGS]
    const program = command ? command.join(' ') : binary
    let warnedNotFound = false
    let lastProblem: string | undefined

    function report(result: CommandResult): HealthReport {
      switch (result.kind) {
        case 'not-found':
          return { unavailable: `${baseName(cmd[0] ?? binary)} not found` }
        case 'aborted':
          return { unavailable: result.timedOut ? `${program} timed out` : `${program} was aborted` }
        case 'failed':
          return { unavailable: `${program} could not start: ${result.error}` }
        case 'exited': {
          if (result.code !== 0) {
            const said = firstLine(result.stderr) ?? firstLine(result.stdout)
            return { unavailable: `${program} exited with code ${result.code}: ${describeExitCode(result.code)}${said ? ` (${said})` : ''}` }
          }
          const gpus = parseGpuCsv(result.stdout)
          if (gpus.length === 0 && result.stdout.trim() !== '') return { unavailable: `${program} printed no GPU rows this probe could read` }
          return { gpus }
        }
      }
    }

    return {
      intervalMs,
      timeoutMs,
      async check(signal) {
        const deadline = AbortSignal.any([signal, ctx.signal, AbortSignal.timeout(timeoutMs)])
        const result = await runCommand(cmd, deadline, env)
        const health = report(result)
        // A CPU-only host has no nvidia-smi; say so once, not every interval.
        if (result.kind === 'not-found') {
          if (!warnedNotFound) ctx.log.warn('nvidia-smi not found; GPU health unavailable', { command: program, error: result.error })
          warnedNotFound = true
        } else if (health.unavailable !== undefined && health.unavailable !== lastProblem) {
          ctx.log.warn('GPU probe failed', { reason: health.unavailable })
        } else if (health.unavailable === undefined && lastProblem !== undefined) {
          ctx.log.info('GPU probe recovered', { gpus: health.gpus?.length ?? 0 })
        }
        lastProblem = health.unavailable
        return health
      },
    }
  },
})

function baseName(path: string): string {
  return path.split('/').pop() || path
}

function firstLine(text: string): string | undefined {
  const line = text.split('\n').map((l) => l.trim()).find((l) => l !== '')
  return line === undefined ? undefined : line.slice(0, 200)
}
