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
  body(): string
  /** Every chunk from the first, then each new one as the leader sends it; `onAbort` ends a cut-off body. */
  follow(onAbort: () => string | undefined): ReadableStream<Uint8Array>
}

/**
 * Fed by the relay of the leader's streamed answer: every chunk its client gets (as text: the relay records the
 * answer as text for the cache anyway, and text keeps no upstream read buffers alive), then how it ended.
 */
export interface FlightTap {
  push(chunk: string): void
  end(outcome: FlightEnd): void
}

export interface Leader extends FlightTap {
  /**
   * Shares status and headers of an answer whose chunks come through `push`/`end` (a relayed stream), or, with
   * `text`, of a complete answer.
   */
  share(status: number, headers: HeadersInit, text?: string): void
  /** The leader has nothing to share; followers run the request themselves. */
  abandon(): void
}

export interface SingleFlight {
  /** The flight under way for `key`, if any. */
  join(key: string): Flight | undefined
  /** Starts the flight for `key`; the caller must call `share` or `abandon`. */
  lead(key: string): Leader
}

/** Resolvers whose promise is made only when someone waits on it: most flights never have a follower. */
class LazyResolvers<T> {
  private settled?: { value: T }
  private waiting?: PromiseWithResolvers<T>

  get promise(): Promise<T> {
    if (this.settled) return Promise.resolve(this.settled.value)
    this.waiting ??= Promise.withResolvers<T>()
    return this.waiting.promise
  }

  resolve(value: T): void {
    if (this.settled) return
    this.settled = { value }
    this.waiting?.resolve(value)
  }
}

interface Follower {
  readonly controller: ReadableStreamDefaultController<Uint8Array>
  readonly onAbort: () => string | undefined
}

const encoder = new TextEncoder()

/** One flight, led by one request: a class, so a leader costs one object and no closures per request. */
class LeaderFlight implements Flight, Leader {
  private readonly chunks: string[] = []
  private complete?: string
  private followers?: Set<Follower>
  private ended?: FlightEnd
  private readonly heads = new LazyResolvers<FlightHead | undefined>()
  private readonly ends = new LazyResolvers<FlightEnd>()

  constructor(
    private readonly flights: Map<string, Flight>,
    private readonly key: string,
  ) {}

  get head(): Promise<FlightHead | undefined> {
    return this.heads.promise
  }

  get done(): Promise<FlightEnd> {
    return this.ends.promise
  }

  body(): string {
    return this.complete ?? this.chunks.join('')
  }

  follow(onAbort: () => string | undefined): ReadableStream<Uint8Array> {
    let follower: Follower | undefined
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        for (const chunk of this.chunks) controller.enqueue(encoder.encode(chunk))
        if (this.ended === 'ok') return controller.close()
        if (this.ended === 'aborted') {
          const last = onAbort()
          if (last) controller.enqueue(encoder.encode(last))
          return controller.close()
        }
        follower = { controller, onAbort }
        ;(this.followers ??= new Set()).add(follower)
      },
      cancel: () => {
        if (follower) this.followers?.delete(follower)
      },
    })
  }

  push(chunk: string): void {
    this.chunks.push(chunk)
    if (!this.followers) return
    const bytes = encoder.encode(chunk)
    for (const f of this.followers) {
      try {
        f.controller.enqueue(bytes)
      } catch {
        this.followers.delete(f)
      }
    }
  }

  end(outcome: FlightEnd): void {
    if (this.ended) return
    this.ended = outcome
    if (this.flights.get(this.key) === this) this.flights.delete(this.key)
    for (const { controller, onAbort } of this.followers ?? []) {
      try {
        const last = outcome === 'aborted' ? onAbort() : undefined
        if (last) controller.enqueue(encoder.encode(last))
        controller.close()
      } catch {
        // A follower whose client already left.
      }
    }
    this.followers = undefined
    this.ends.resolve(outcome)
  }

  share(status: number, headers: HeadersInit, text?: string): void {
    this.heads.resolve({ status, headers })
    if (text === undefined) return
    this.complete = text
    this.end('ok')
  }

  abandon(): void {
    this.heads.resolve(undefined)
    this.end('aborted')
  }
}

export function createSingleFlight(): SingleFlight {
  const flights = new Map<string, Flight>()
  return {
    join: (key) => flights.get(key),
    lead(key) {
      const flight = new LeaderFlight(flights, key)
      flights.set(key, flight)
      return flight
    },
  }
}
