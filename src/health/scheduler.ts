/** Run every probe plugin on its own interval with timeout, jitter and backoff; results go to the health store. */
import type { LoadedPlugin } from '../plugin/load.ts'
import type { Logger } from '../plugin/types.ts'
import type { HealthStore } from './state.ts'
import { messageOf } from '../errors.ts'

export interface ProbeScheduler {
  /** Resolves when every probe has answered once (or timed out). */
  readonly firstRound: Promise<void>
  /** Run every probe now (used after a request failure and in tests). */
  refresh(): Promise<void>
  close(): void
}

const MAX_BACKOFF = 8

export function startProbeScheduler(probes: readonly LoadedPlugin<'probe'>[], store: HealthStore, log: Logger): ProbeScheduler {
  const controller = new AbortController()
  const timers = new Set<ReturnType<typeof setTimeout>>()
  const runs = probes.map((probe) => {
    const intervalMs = probe.instance.intervalMs ?? 5_000
    const timeoutMs = probe.instance.timeoutMs ?? 2_000
    let failures = 0
    let lastUnavailable: string | undefined
    const runOnce = async () => {
      const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(timeoutMs)])
      try {
        const report = await probe.instance.check(signal)
        if (report.unavailable !== lastUnavailable && report.unavailable) log.warn('probe unavailable', { probe: probe.name, reason: report.unavailable })
        lastUnavailable = report.unavailable
        for (const name of store.apply(report)) {
          const r = report.backends?.find((b) => b.name === name)
          log.info(r?.up ? 'backend up' : 'backend down', { backend: name, probe: probe.name, error: r?.error })
        }
        const anyDown = report.backends?.some((b) => !b.up) ?? false
        failures = anyDown ? Math.min(failures + 1, MAX_BACKOFF) : 0
      } catch (error) {
        failures = Math.min(failures + 1, MAX_BACKOFF)
        if (!controller.signal.aborted) log.warn('probe failed', { probe: probe.name, error: messageOf(error) })
      }
    }
    const schedule = () => {
      if (controller.signal.aborted) return
      // A backend that stays down is probed less often, up to 4x the interval; jitter spreads probes apart.
      const backoff = Math.min(2 ** Math.max(0, failures - 2), 4)
      const delay = intervalMs * backoff * (0.9 + Math.random() * 0.2)
      const timer = setTimeout(async () => {
        timers.delete(timer)
        await runOnce()
        schedule()
      }, delay)
      timers.add(timer)
    }
    const first = runOnce().then(schedule)
    return { first, runOnce }
  })
  return {
    firstRound: Promise.all(runs.map((r) => r.first)).then(() => {}),
    refresh: () => Promise.all(runs.map((r) => r.runOnce())).then(() => {}),
    close() {
      controller.abort()
      for (const t of timers) clearTimeout(t)
      timers.clear()
    },
  }
}
