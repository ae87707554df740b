/**
 * What runs when a response body is finished (sent, failed or cancelled): release the config generation, end the
 * SERVER span. One list per request; a relayed stream fires it itself, any other streamed body is wrapped once.
 */
import { ERROR_TYPE_CANCELLED } from '../telemetry/attributes.ts'

export interface BodyFailure {
  readonly error: unknown
  readonly type?: string
}

export type BodyEndHook = (failure?: BodyFailure) => void

export interface BodyEnd {
  /** Run `hook` when the body ends (at once if it already has). */
  add(hook: BodyEndHook): void
  /** The body ended; runs every hook once. Later calls do nothing. */
  fire(failure?: BodyFailure): void
  readonly fired: boolean
}

export const CANCELLED: BodyFailure = { error: new Error('client disconnected'), type: ERROR_TYPE_CANCELLED }

export function createBodyEnd(): BodyEnd {
  const hooks: BodyEndHook[] = []
  let done: { failure?: BodyFailure } | undefined
  return {
    add(hook) {
      if (done) hook(done.failure)
      else hooks.push(hook)
    },
    fire(failure) {
      if (done) return
      done = { failure }
      for (const hook of hooks) hook(failure)
    },
    get fired() {
      return done !== undefined
    },
  }
}

/** Pass `res`'s body through and fire `end` once when it is read to the end, fails, or is cancelled. */
export function watchBody(res: Response, clientGone: AbortSignal, end: BodyEnd): Response {
  const reader = res.body!.getReader()
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read()
        if (done) {
          controller.close()
          end.fire(clientGone.aborted ? CANCELLED : undefined)
        } else controller.enqueue(value)
      } catch (error) {
        controller.error(error)
        end.fire({ error })
      }
    },
    async cancel(reason) {
      await reader.cancel(reason).catch(() => {})
      end.fire(CANCELLED)
    },
  })
  return new Response(body, res)
}
