/**
 * Shared state (rate limits in Redis, and each plugin's `stateBackend`: a Redis cache, a Postgres history) never
 * degrades silently: what each part uses now (`shared`, or `local` while its store is away), for /health and
 * `switchyard_state_backend`, and a warning in the log when a part goes local and again each minute while it stays so.
 */
import type { GatewayDeps } from '../pipeline/deps.ts'
import type { Logger, StateBackend } from '../plugin/types.ts'

/** Every part that keeps state between instances, as it stands now. */
export function stateBackends(deps: Pick<GatewayDeps, 'auth' | 'plugins'>): StateBackend[] {
  const out: StateBackend[] = []
  const limits = deps.auth.stateBackend?.()
  if (limits) out.push(limits)
  for (const p of deps.plugins.all) {
    const own = p.instance.stateBackend?.()
    if (own) out.push(own)
  }
  return out
}

const CHECK_MS = 1_000
const REPEAT_MS = 60_000

/** Checks every few seconds; returns the stop function. */
export function watchStateBackends(read: () => readonly StateBackend[], log: Logger, checkMs = CHECK_MS, repeatMs = REPEAT_MS): () => void {
  const warnedAt = new Map<string, number>()
  const timer = setInterval(() => {
    const now = Date.now()
    for (const s of read()) {
      const last = warnedAt.get(s.component)
      if (s.mode === 'shared') {
        if (last !== undefined) log.info('shared state is back', { component: s.component })
        warnedAt.delete(s.component)
      } else if (last === undefined || now - last >= repeatMs) {
        log.warn('shared state unavailable: this instance is on its own for it', { component: s.component, detail: s.detail })
        warnedAt.set(s.component, now)
      }
    }
  }, checkMs)
  timer.unref?.()
  return () => clearInterval(timer)
}
