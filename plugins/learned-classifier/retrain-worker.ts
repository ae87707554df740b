/**
 * The retrain worker (a Bun `Worker` started by retrain-runner.ts): runs retrain jobs off the gateway's event loop and
 * keeps the featurized shipped rows between them. A standalone build (`bun build --compile`) must list this file as an
 * entry point next to src/main.ts, or the worker cannot start and retrains run in the gateway's thread (logged once).
 */
import { parentPort } from 'node:worker_threads'
import { buffersOf, fromServedData, runRetrainTask, toServedData } from './retrain-job.ts'
import type { BaseCache, RetrainTask, RetrainTaskResult, ServedData } from './retrain-job.ts'

/** Test hook (the core never sets it): the worker dies this way when the job arrives, as an uncaught out-of-memory error or an exit. */
export type WorkerFault = 'oom' | 'exit'

export type ToWorker =
  | { readonly type: 'retrain'; readonly id: number; readonly task: Omit<RetrainTask, 'current'> & { readonly current: ServedData }; readonly fault?: WorkerFault }
  | { readonly type: 'abort'; readonly id: number }

export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly id: number; readonly result: Omit<RetrainTaskResult, 'candidate'> & { readonly candidate?: ServedData } }
  | { readonly type: 'failed'; readonly id: number; readonly message: string; readonly aborted: boolean }

// Messages through `parentPort` queue until the listener below is attached, so nothing posted while this loads is lost.
const port = parentPort
if (!port) throw new Error('retrain-worker.ts runs as a worker (retrain-runner.ts starts it)')
const cache: BaseCache = {}
const running = new Map<number, AbortController>()
const send = (message: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer)

async function retrain(id: number, task: Extract<ToWorker, { type: 'retrain' }>['task']) {
  const controller = new AbortController()
  running.set(id, controller)
  try {
    const { candidate, ...result } = await runRetrainTask({ ...task, current: fromServedData(task.current) }, cache, controller.signal)
    const data = candidate && toServedData(candidate)
    send({ type: 'done', id, result: { ...result, ...(data ? { candidate: data } : {}) } }, data ? buffersOf(data) : [])
  } catch (error) {
    send({ type: 'failed', id, message: error instanceof Error ? error.message : String(error), aborted: controller.signal.aborted })
  } finally {
    running.delete(id)
    // A retrain leaves garbage an idle worker would hold on to: process RSS 157-188 MB after a retrain without this
    // collection, 76-96 MB with it (6-32 ms, in this thread); 58 MB with no worker.
    Bun.gc(true)
  }
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'abort') return running.get(message.id)?.abort()
  if (message.fault === 'exit') process.exit(70)
  // Thrown outside any promise chain, as an allocation the engine refuses would be: the worker dies with it.
  if (message.fault === 'oom') setTimeout(() => new ArrayBuffer(2 ** 45))
  else void retrain(message.id, message.task)
})
send({ type: 'ready' })
