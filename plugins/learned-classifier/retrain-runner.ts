/**
 * Runs retrains in a worker thread (retrain-worker.ts), so the gateway's event loop only posts the labelled decisions
 * and receives the candidate. Why, measured with `bun run bench --retrain` (BENCHMARKS.md, "Retrain latency", 3 runs
 * each): in the gateway's thread, yielding every 8 ms, request p50 was 12.4-13.4 ms during a retrain against 1.0-1.1
 * ms without, and the main thread spent 2.95-3.20 s of CPU on it; in the worker, p50 1.03-1.14 ms against 1.00-1.08,
 * 0.29-0.45 s on the main thread (requests included). One worker, started on the first retrain and kept: its
 * featurized shipped rows make later retrains 1.1-1.4 s of CPU instead of 3.8-5 s for a fresh worker, for about the
 * memory the in-thread cache took. A worker that crashes or exits fails its retrain with a clear error and is replaced
 * on the next one. Where no worker starts, retrains run in this thread as before (logged once).
 */
import type { Logger } from 'switchyard/plugin'
import { fromServedData, runRetrainTask, toServedData } from './retrain-job.ts'
import type { BaseCache, RetrainTask, RetrainTaskResult } from './retrain-job.ts'
import type { FromWorker, ToWorker, WorkerFault } from './retrain-worker.ts'

export type { WorkerFault }

/** How long an aborted job may take to stop before its worker is terminated (it checks its signal every ~8 ms). */
const ABORT_GRACE_MS = 2_000

export interface RetrainRunner {
  /** One retrain; the caller runs one at a time. Rejects with `signal.reason` when aborted. */
  run(task: RetrainTask, signal: AbortSignal, fault?: WorkerFault): Promise<RetrainTaskResult>
  /** A plugin instance starts using the runner; the returned release stops the worker once no instance uses it. */
  acquire(): () => void
}

/** The worker's own words for why it died: the `Error: message` line of Bun's report, without the code frame. */
const crashReason = (event: Event) => {
  const text = (event as ErrorEvent).message ?? ''
  return text.match(/^\s*((?:\w*Error|error): .*)$/m)?.[1] ?? (text.trim().split('\n').at(-1) || 'unknown error')
}

/**
 * From source, the file next to this one. In a standalone build (`bun build --compile src/main.ts
 * plugins/learned-classifier/retrain-worker.ts`) `import.meta.url` names the bundle (`file:///$bunfs/root/main`), so
 * the worker is found as the build's entry point of that path (checked with a compiled probe).
 */
const workerEntry = (): string | URL =>
  /\/\$bunfs\/|~BUN/.test(import.meta.url) ? './plugins/learned-classifier/retrain-worker.ts' : new URL('./retrain-worker.ts', import.meta.url)

const dataOf = (e: Event) => (e as MessageEvent<FromWorker>).data

/** Bun's `Worker` (with `ref`/`unref`); the DOM typings the project also loads name the browser's. */
interface Handle { readonly worker: Bun.Worker; started: boolean; jobs: number }

export function createRetrainRunner(log: Logger): RetrainRunner {
  let handle: Handle | undefined
  let inThread = false
  let users = 0
  let nextId = 1
  // Used only when jobs run in this thread; the worker keeps its own.
  const cache: BaseCache = {}

  const discard = (h: Handle) => {
    if (handle === h) handle = undefined
    h.worker.terminate()
  }

  const spawn = (): Handle => {
    const worker = new Worker(workerEntry(), { ref: false }) as unknown as Bun.Worker
    const h: Handle = { worker, started: false, jobs: 0 }
    worker.addEventListener('message', (e: Event) => {
      if (dataOf(e).type === 'ready') h.started = true
    })
    // A worker that dies with no job running is dropped too; the next retrain starts a fresh one.
    worker.addEventListener('close', () => {
      if (handle === h) handle = undefined
    })
    return h
  }

  const fallBack = (why: string) => {
    if (!inThread) log.warn('learned-classifier: no retrain worker could start; retrains run in the gateway thread', { error: why })
    inThread = true
  }

  const inThisThread = (task: RetrainTask, signal: AbortSignal) => runRetrainTask(task, cache, signal)

  const inWorker = (task: RetrainTask, signal: AbortSignal, fault: WorkerFault | undefined) => new Promise<RetrainTaskResult>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    let h: Handle
    try {
      h = handle ??= spawn()
    } catch (error) {
      fallBack(error instanceof Error ? error.message : String(error))
      return void inThisThread(task, signal).then(resolve, reject)
    }
    const { worker } = h
    const id = nextId++
    let grace: ReturnType<typeof setTimeout> | undefined
    const settle = (done: () => void) => {
      worker.removeEventListener('message', onMessage)
      worker.removeEventListener('error', onError)
      worker.removeEventListener('close', onClose)
      signal.removeEventListener('abort', onAbort)
      clearTimeout(grace)
      if (--h.jobs === 0) worker.unref()
      done()
    }
    const died = (how: string) => {
      discard(h)
      // Terminated because the plugin closed (its signal aborts first): not a crash.
      if (signal.aborted) return settle(() => reject(signal.reason))
      if (!h.started) {
        // It never ran: workers are not available here (or this file cannot be loaded); do the job in this thread.
        fallBack(how)
        return settle(() => void inThisThread(task, signal).then(resolve, reject))
      }
      log.error('learned-classifier: the retrain worker died; the next retrain starts a fresh one', { error: how })
      settle(() => reject(new Error(`learned-classifier: the retrain worker died (${how})`)))
    }
    const onMessage = (e: Event) => {
      const m = dataOf(e)
      if (m.type === 'ready' || m.id !== id) return
      if (m.type === 'failed') return settle(() => reject(m.aborted && signal.aborted ? signal.reason : new Error(m.message)))
      const { candidate, ...result } = m.result
      settle(() => resolve({ ...result, ...(candidate ? { candidate: fromServedData(candidate) } : {}) }))
    }
    const onError = (e: Event) => died(crashReason(e))
    const onClose = (e: Event) => died(`it exited with code ${(e as CloseEvent).code}`)
    const onAbort = () => {
      worker.postMessage({ type: 'abort', id } satisfies ToWorker)
      grace = setTimeout(() => {
        discard(h)
        settle(() => reject(signal.reason))
      }, ABORT_GRACE_MS)
    }
    worker.addEventListener('message', onMessage)
    worker.addEventListener('error', onError)
    worker.addEventListener('close', onClose)
    signal.addEventListener('abort', onAbort, { once: true })
    // Referenced while it works (a retrain in flight keeps the process up), and for a measured reason: with only an
    // unreferenced worker to wait for, Bun 1.4.5's event loop spins (one core at 100 % for the whole retrain).
    if (h.jobs++ === 0) worker.ref()
    // The serving version's arrays are copied (this thread keeps serving with them); the candidate's come back moved.
    const message: ToWorker = { type: 'retrain', id, task: { ...task, current: toServedData(task.current) }, ...(fault ? { fault } : {}) }
    try {
      worker.postMessage(message)
    } catch (error) {
      settle(() => reject(error))
    }
  })

  return {
    run(task, signal, fault) {
      if (!inThread && typeof Worker === 'undefined') fallBack('this runtime has no Worker')
      return inThread ? inThisThread(task, signal) : inWorker(task, signal, fault)
    },
    acquire() {
      users++
      let released = false
      return () => {
        if (released) return
        released = true
        if (--users === 0 && handle) discard(handle)
      }
    },
  }
}
