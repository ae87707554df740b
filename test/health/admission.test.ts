/** Per-backend admission: slots, the FIFO queue behind them, and reloads that change the limit. */
import { describe, expect, test } from 'bun:test'
import * as v from 'valibot'
import { BackendConfig } from '../../src/config/schema.ts'
import { createAdmission, QueueTimeoutError } from '../../src/health/admission.ts'

const backend = (maxConcurrency: number | undefined, maxQueue = 16) =>
  v.parse(BackendConfig, { name: 'gpu0', kind: 'ollama', url: 'http://127.0.0.1:1', maxConcurrency, maxQueue })

/** Acquire a slot and record the order in which queued requests are let in. */
function take(admission: ReturnType<typeof createAdmission>, label: string, order: string[], signal = new AbortController().signal) {
  return admission.acquire('gpu0', signal, 60_000).then((release) => {
    order.push(label)
    return release
  })
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0))

describe('admission', () => {
  test('queues past the limit and lets waiters in oldest first as slots free up', async () => {
    const admission = createAdmission([backend(1)])
    const order: string[] = []
    const first = await take(admission, 'a', order)
    const b = take(admission, 'b', order)
    const c = take(admission, 'c', order)
    await settle()
    expect(order).toEqual(['a'])
    expect(admission.queued('gpu0')).toBe(2)
    first!()
    first!() // releasing twice frees one slot, not two
    await settle()
    expect(order).toEqual(['a', 'b'])
    ;(await b)!()
    await c
    expect(order).toEqual(['a', 'b', 'c'])
  })

  test('a full queue answers undefined; a queued request times out or is dropped on abort', async () => {
    const admission = createAdmission([backend(1, 1)])
    await admission.acquire('gpu0', new AbortController().signal, 60_000)
    const aborter = new AbortController()
    const queued = admission.acquire('gpu0', aborter.signal, 60_000)
    expect(await admission.acquire('gpu0', new AbortController().signal, 60_000)).toBeUndefined()
    aborter.abort()
    await expect(queued).rejects.toThrow('client disconnected while queued')
    expect(admission.queued('gpu0')).toBe(0)
    await expect(admission.acquire('gpu0', new AbortController().signal, 5)).rejects.toBeInstanceOf(QueueTimeoutError)
    expect(admission.queued('gpu0')).toBe(0)
  })

  test('a reload that raises the limit admits the queue ahead of newcomers', async () => {
    const admission = createAdmission([backend(1)])
    const order: string[] = []
    await take(admission, 'held', order)
    const queued = [take(admission, 'q1', order), take(admission, 'q2', order)]
    await settle()
    admission.configure([backend(3)])
    await Promise.all(queued)
    expect(order).toEqual(['held', 'q1', 'q2'])
    // The three slots are taken: a newcomer queues.
    const late = take(admission, 'late', order)
    await settle()
    expect(order).not.toContain('late')
    expect(admission.queued('gpu0')).toBe(1)
    admission.configure([backend(undefined)])
    await late
    expect(order.at(-1)).toBe('late')
  })

  test('a reload that lowers the limit keeps waiters queued until in-flight requests drop below it', async () => {
    const admission = createAdmission([backend(3)])
    const order: string[] = []
    const held = await Promise.all([take(admission, 'a', order), take(admission, 'b', order), take(admission, 'c', order)])
    const waiter = take(admission, 'w', order)
    await settle()
    admission.configure([backend(1)])
    held[0]!()
    held[1]!()
    await settle()
    // Two freed, but one request is still in flight and the limit is now one.
    expect(order).not.toContain('w')
    expect(admission.queued('gpu0')).toBe(1)
    held[2]!()
    await waiter
    expect(order.at(-1)).toBe('w')
  })
})
