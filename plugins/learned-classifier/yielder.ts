/** Long work in the gateway's thread: give the event loop a turn every few milliseconds, and stop when aborted. */

/** Returns `tick()`: resolves at once until `sliceMs` of work has passed, then after one turn of the event loop. */
export function createYielder(signal?: AbortSignal, sliceMs = 8): () => Promise<void> | undefined {
  let since = performance.now()
  return () => {
    if (performance.now() - since < sliceMs) return undefined
    return Bun.sleep(0).then(() => {
      signal?.throwIfAborted()
      since = performance.now()
    })
  }
}

/** Run a generator that yields at safe points to the end, straight through. */
export function runSteps<T>(steps: Generator<void, T>): T {
  for (;;) {
    const next = steps.next()
    if (next.done) return next.value
  }
}

/** Run a generator to the end, giving the event loop a turn whenever `tick` asks for one. */
export async function runStepsAsync<T>(steps: Generator<void, T>, tick: () => Promise<void> | undefined): Promise<T> {
  for (;;) {
    const next = steps.next()
    if (next.done) return next.value
    const pause = tick()
    if (pause) await pause
  }
}
