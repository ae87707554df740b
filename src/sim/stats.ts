/** Counters behind `/sim/stats`, and the per-request scope that keeps `active` and `aborted` honest. */

/** How many aborted generations `/sim/stats` lists. */
export const ABORT_HISTORY_SIZE = 100

/** One generation its caller left before it finished: epoch milliseconds, to measure how fast cancellation arrives. */
export interface AbortRecord {
  /** null when the request body named no model. */
  model: string | null
  startedAt: number
  abortedAt: number
}

export interface SimStats {
  requests: number
  active: number
  aborted: number
  byModel: Record<string, number>
  /** The last aborted generations, newest last. */
  aborts: AbortRecord[]
}

/** One generation request from arrival until it finished or its caller went away. */
export interface RequestScope {
  /** Aborts when the client disconnects (request signal or stream cancel). */
  readonly signal: AbortSignal
  /** Runs `fn` once when the request ends, however it ends. */
  defer(fn: () => void): void
  /** The request completed (or failed on our side): `active` goes down, nothing counts as aborted. */
  finish(): void
  /** The caller went away before `finish`: counts once in `aborted`. */
  abort(reason?: unknown): void
}

export interface StatsBook {
  snapshot(): SimStats
  reset(): void
  /** Counts a generation request and opens its scope; `model` is undefined when the body had none. */
  begin(model: string | undefined, requestSignal: AbortSignal): RequestScope
}

export function createStatsBook(): StatsBook {
  let requests = 0
  let active = 0
  let aborted = 0
  let byModel: Record<string, number> = {}
  let aborts: AbortRecord[] = []

  return {
    snapshot: () => ({ requests, active, aborted, byModel: { ...byModel }, aborts: aborts.map((a) => ({ ...a })) }),
    reset() {
      requests = 0
      aborted = 0
      byModel = {}
      aborts = []
    },
    begin(model, requestSignal) {
      const startedAt = Date.now()
      requests++
      active++
      if (model !== undefined) byModel[model] = (byModel[model] ?? 0) + 1
      const controller = new AbortController()
      const deferred: (() => void)[] = []
      let ended = false
      const end = () => {
        if (ended) return false
        ended = true
        active--
        requestSignal.removeEventListener('abort', onRequestAbort)
        for (const fn of deferred.splice(0)) fn()
        return true
      }
      const scope: RequestScope = {
        signal: controller.signal,
        defer(fn) {
          if (ended) fn()
          else deferred.push(fn)
        },
        finish() {
          end()
        },
        abort(reason) {
          if (!end()) return
          aborted++
          aborts.push({ model: model ?? null, startedAt, abortedAt: Date.now() })
          if (aborts.length > ABORT_HISTORY_SIZE) aborts.shift()
          controller.abort(reason ?? new DOMException('The client went away', 'AbortError'))
        },
      }
      // Bun aborts the request signal when the client disconnects, even before any byte is sent.
      const onRequestAbort = () => scope.abort(requestSignal.reason)
      if (requestSignal.aborted) queueMicrotask(onRequestAbort)
      else requestSignal.addEventListener('abort', onRequestAbort, { once: true })
      return scope
    },
  }
}
