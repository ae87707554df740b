/** Single-flight: identical concurrent requests share the leader's one upstream answer, fanned out chunk by chunk. */

export interface FlightHead {
  readonly status: number
  readonly headers: HeadersInit
}

export type FlightEnd = 'ok' | 'aborted'

export interface Flight {
  /** The leader's status and headers; undefined when the leader has no answer to share (its client left first). */
  readonly head: Promise<FlightHead | undefined>
  /** Settles when the leader's body has ended: 'aborted' when it was cut off before its end. */
  readonly done: Promise<FlightEnd>
  /** The whole body so far (all of it once `done` is 'ok'). */
  body(): Uint8Array<ArrayBuffer> | string
  /** Every chunk from the first, then each new one as the leader sends it; `onAbort` ends a cut-off body. */
  follow(onAbort: () => Uint8Array | undefined): ReadableStream<Uint8Array>
}

/** Fed by the relay of the leader's streamed answer: every chunk its client gets, then how it ended. */
export interface FlightTap {
  push(chunk: Uint8Array): void
  end(outcome: FlightEnd): void
}

export interface Leader extends FlightTap {
  /** Shares the leader's response; returns the response to send to the leader's own client (same bytes). */
  publish(res: Response): Response
  /**
   * Shares status and headers of an answer whose bytes come through `push`/`end` (a relayed stream), or, with
   * `text`, of a complete answer.
   */
  head(status: number, headers: HeadersInit, text?: string): void
  /** The leader has nothing to share; followers run the request themselves. */
  abandon(): void
}

export interface SingleFlight {
  /** The flight under way for `key`, if any. */
  join(key: string): Flight | undefined
  /** Starts the flight for `key`; the caller must publish or abandon. */
  lead(key: string): Leader
  readonly size: number
}

/** Resolvers whose promise is made only when someone waits on it: most flights never have a follower. */
function lazyResolvers<T>(): { readonly promise: Promise<T>; resolve(value: T): void } {
  let settled: { value: T } | undefined
  let waiting: PromiseWithResolvers<T> | undefined
  return {
    get promise() {
      if (settled) return Promise.resolve(settled.value)
      waiting ??= Promise.withResolvers<T>()
      return waiting.promise
    },
    resolve(value) {
      if (settled) return
      settled = { value }
      waiting?.resolve(value)
    },
  }
}

export function createSingleFlight(): SingleFlight {
  const flights = new Map<string, Flight>()

  const lead = (key: string): Leader => {
    const chunks: Uint8Array[] = []
    let complete: string | undefined
    const followers = new Set<{ controller: ReadableStreamDefaultController<Uint8Array>; onAbort: () => Uint8Array | undefined }>()
    const head = lazyResolvers<FlightHead | undefined>()
    const done = lazyResolvers<FlightEnd>()
    let ended: FlightEnd | undefined

    const finish = (end: FlightEnd) => {
      if (ended) return
      ended = end
      if (flights.get(key) === flight) flights.delete(key)
      for (const { controller, onAbort } of followers) {
        try {
          const last = end === 'aborted' ? onAbort() : undefined
          if (last) controller.enqueue(last)
          controller.close()
        } catch {
          // A follower whose client already left.
        }
      }
      followers.clear()
      done.resolve(end)
    }

    const flight: Flight = {
      get head() {
        return head.promise
      },
      get done() {
        return done.promise
      },
      body: () => complete ?? Buffer.concat(chunks),
      follow(onAbort) {
        let entry: { controller: ReadableStreamDefaultController<Uint8Array>; onAbort: () => Uint8Array | undefined } | undefined
        return new ReadableStream<Uint8Array>({
          start(controller) {
            for (const chunk of chunks) controller.enqueue(chunk)
            if (ended === 'ok') return controller.close()
            if (ended === 'aborted') {
              const last = onAbort()
              if (last) controller.enqueue(last)
              return controller.close()
            }
            entry = { controller, onAbort }
            followers.add(entry)
          },
          cancel() {
            if (entry) followers.delete(entry)
          },
        })
      },
    }
    flights.set(key, flight)

    const push = (chunk: Uint8Array) => {
      chunks.push(chunk)
      for (const f of followers) {
        try {
          f.controller.enqueue(chunk)
        } catch {
          followers.delete(f)
        }
      }
    }

    return {
      push,
      end: finish,
      head(status, headers, text) {
        head.resolve({ status, headers })
        if (text === undefined) return
        complete = text
        finish('ok')
      },
      publish(res) {
        head.resolve({ status: res.status, headers: new Headers(res.headers) })
        if (!res.body) {
          finish('ok')
          return res
        }
        const reader = res.body.getReader()
        const body = new ReadableStream<Uint8Array>({
          async pull(controller) {
            let result: Awaited<ReturnType<typeof reader.read>>
            try {
              result = await reader.read()
            } catch (error) {
              finish('aborted')
              controller.error(error)
              return
            }
            if (result.done) {
              controller.close()
              finish('ok')
              return
            }
            push(result.value)
            controller.enqueue(result.value)
          },
          cancel(reason) {
            finish('aborted')
            return reader.cancel(reason)
          },
        })
        return new Response(body, { status: res.status, headers: res.headers })
      },
      abandon() {
        head.resolve(undefined)
        finish('aborted')
      },
    }
  }

  return {
    join: (key) => flights.get(key),
    lead,
    get size() {
      return flights.size
    },
  }
}
