/**
 * One request's state as it passes the pipeline stages, and the runner that chains them.
 *
 * Generation routes (chat, generate, completions, embeddings) run their stages here rather than as Hono
 * middleware: a plain object and one closure per stage instead of Hono's context, compose and per-route
 * middleware dispatch, which cost a sixth of the gateway's CPU per request (see BENCHMARKS.md).
 */
import type { Context as TraceContext, Span } from '@opentelemetry/api'
import type { Server } from 'bun'
import type { ClientKey } from '../http/auth.ts'
import type { CacheStatus, ChatRequest, Classification, Protocol, Selection, TaskClass } from '../plugin/types.ts'
import type { Conversation } from './affinity.ts'
import type { ModelPolicy } from './policy.ts'
import { type BodyEnd, createBodyEnd } from './body-end.ts'
import type { GatewayDeps } from './deps.ts'
import type { Target } from './route.ts'
import type { FlightTap } from './single-flight.ts'

let sequence = 0
/** 72 random bits per process: ids stay unique across restarts and across gateway instances. */
const idPrefix = Buffer.from(crypto.getRandomValues(new Uint8Array(9))).toString('base64url')

/** The path of a request URL (`http://host:port/path?query` -> `/path`) without parsing the whole URL. */
export function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2)
  const query = url.indexOf('?', start)
  return query === -1 ? url.slice(start) : url.slice(start, query)
}

/** A request id (URL-safe, unique across processes and restarts) for the response header, events, logs, spans and history. */
export function nextRequestId(): string {
  return `${idPrefix}${(++sequence).toString(36)}`
}

/** What forward answered with, for the cache stage: the response headers and, for a complete answer, its text. */
export interface Answer {
  readonly headers: Record<string, string>
  /** The whole body of a non-streamed answer. */
  readonly text?: string
  /** The relayed stream that fires `bodyEnd` itself (and feeds `flightTap`). */
  readonly relayed?: ReadableStream<Uint8Array>
}

export class RequestContext {
  readonly requestId = nextRequestId()
  readonly startedMs = performance.now()
  /** Hooks run when the response body is finished (sent, failed or cancelled). */
  readonly bodyEnd: BodyEnd = createBodyEnd()
  clientKey?: ClientKey
  /** Set by the parse stage; every later stage may rely on them. */
  request!: ChatRequest
  raw!: Uint8Array
  target!: Target
  /** What the client key may use; undefined when it may use everything. */
  policy?: ModelPolicy
  /** Why the policy moved the request to another class. */
  policyNote?: string
  /** The class the client asked for with `x-switchyard-class` (route targets only). */
  forced?: TaskClass
  classification?: Classification
  /** The conversation this request continues (conversation affinity), and its state before this turn. */
  conversation?: { readonly key: string; readonly prior: Conversation | undefined }
  selection?: Selection
  cacheKey?: string
  cacheStatus?: CacheStatus
  /** Store the complete answer under `cacheKey`. */
  cacheStore = false
  /** Single-flight followers' feed, given to the relay of a streamed answer. */
  flightTap?: FlightTap
  answer?: Answer
  /** The SERVER span's context: stage spans are its children, passed explicitly. */
  traceContext?: TraceContext
  span?: Span
  /** Set once the `response` PipelineEvent went out (forward's end); otherwise it is emitted when the request ends. */
  responded = false
  /** What the request failed with, once it has been turned into an error response. */
  error?: Error

  constructor(
    readonly deps: GatewayDeps,
    readonly req: Request,
    readonly server: Server<undefined> | undefined,
    /** The route template, e.g. `/v1/chat/completions` (never a raw unknown path). */
    public route: string | undefined,
  ) {}

  /** The client's abort signal: fires when the client hangs up. */
  get signal(): AbortSignal {
    return this.req.signal
  }
}

/** One pipeline stage: does its part, then calls `next` for the rest, and returns the response. */
export type Stage = (ctx: RequestContext, next: () => Promise<Response>) => Promise<Response>

/** A generation route's stages; `protocol` gives its errors their shape. */
export interface Pipeline {
  readonly protocol: Protocol
  readonly stages: readonly Stage[]
}

/** Runs `stages` in order; the last one must answer without calling `next`. */
export function runStages(stages: readonly Stage[], ctx: RequestContext, index = 0): Promise<Response> {
  const stage = stages[index]
  if (!stage) return Promise.reject(new Error('pipeline ended without a response'))
  return stage(ctx, () => runStages(stages, ctx, index + 1))
}
