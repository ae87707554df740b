/**
 * Request deadlines on one shared coarse timer instead of a `setTimeout` (and a `clearTimeout`) per deadline:
 * a deadline is an entry in a set, checked every TICK_MS while any is pending. Deadlines here are seconds to
 * minutes long (first byte, whole request, cache lookups), so firing up to TICK_MS late does not matter.
 */
export const TICK_MS = 20

export interface Deadline {
  readonly at: number
  readonly fire: () => void
}

const pending = new Set<Deadline>()
let timer: ReturnType<typeof setInterval> | undefined

function tick(): void {
  const now = performance.now()
  for (const deadline of pending) {
    if (deadline.at > now) continue
    pending.delete(deadline)
    deadline.fire()
  }
  if (pending.size === 0 && timer) {
    clearInterval(timer)
    timer = undefined
  }
}

/** Calls `fire` once, about `ms` from now, unless cancelled first. */
export function startDeadline(ms: number, fire: () => void): Deadline {
  const deadline = { at: performance.now() + ms, fire }
  pending.add(deadline)
  if (!timer) {
    timer = setInterval(tick, TICK_MS)
    // Pending deadlines never keep the process alive on their own.
    timer.unref()
  }
  return deadline
}

export function cancelDeadline(deadline: Deadline | undefined): void {
  if (deadline) pending.delete(deadline)
}
