/** Per-backend admission: at most `maxConcurrency` requests in flight, a bounded FIFO queue behind them. */
import type { BackendConfig } from '../config/schema.ts'

export interface Admission {
  /**
   * A slot on the backend: resolves with its release function, or with undefined when the queue is full.
   * Rejects if `signal` aborts or `waitMs` passes while queued.
   */
  acquire(backend: string, signal: AbortSignal, waitMs: number): Promise<(() => void) | undefined>
  /** Apply new limits (on reload); counts of requests in flight carry over. */
  configure(backends: readonly BackendConfig[]): void
  queued(backend: string): number
}

interface Lane {
  limit: number | undefined
  maxQueue: number
  active: number
  waiters: { grant: () => void }[]
}

export class QueueTimeoutError extends Error {
  override readonly name = 'QueueTimeoutError'
}

export function createAdmission(backends: readonly BackendConfig[]): Admission {
  const lanes = new Map<string, Lane>()
  /** Hand free slots to queued requests, oldest first; a lowered limit leaves them queued until enough slots free up. */
  const drain = (lane: Lane) => {
    while (lane.waiters.length > 0 && (lane.limit === undefined || lane.active < lane.limit)) lane.waiters.shift()!.grant()
  }
  const configure = (list: readonly BackendConfig[]) => {
    for (const b of list) {
      const lane = lanes.get(b.name) ?? { limit: undefined, maxQueue: 0, active: 0, waiters: [] }
      lane.limit = b.maxConcurrency
      lane.maxQueue = b.maxQueue
      lanes.set(b.name, lane)
      // A raised (or removed) limit admits the queue before any newcomer can take the new slots.
      drain(lane)
    }
  }
  configure(backends)
  const releaser = (lane: Lane) => {
    let released = false
    return () => {
      if (released) return
      released = true
      lane.active--
      drain(lane)
    }
  }
  return {
    async acquire(backend, signal, waitMs) {
      const lane = lanes.get(backend)
      if (!lane) return () => {}
      if (lane.limit === undefined || lane.active < lane.limit) {
        lane.active++
        return releaser(lane)
      }
      if (lane.waiters.length >= lane.maxQueue) return undefined
      return await new Promise<() => void>((resolve, reject) => {
        const waiter = {
          grant: () => {
            cleanup()
            lane.active++
            resolve(releaser(lane))
          },
        }
        const drop = (error: Error) => {
          cleanup()
          const i = lane.waiters.indexOf(waiter)
          if (i !== -1) lane.waiters.splice(i, 1)
          reject(error)
        }
        const timer = setTimeout(() => drop(new QueueTimeoutError(`waited ${waitMs} ms in the queue for backend "${backend}"`)), waitMs)
        const onAbort = () => drop(new Error('client disconnected while queued'))
        const cleanup = () => {
          clearTimeout(timer)
          signal.removeEventListener('abort', onAbort)
        }
        signal.addEventListener('abort', onAbort, { once: true })
        lane.waiters.push(waiter)
      })
    },
    configure,
    queued: (backend) => lanes.get(backend)?.waiters.length ?? 0,
  }
}
