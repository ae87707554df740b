/** The typed `c.var` every pipeline stage reads and writes. */
import type { Context as TraceContext, Span } from '@opentelemetry/api'
import type { Server } from 'bun'
import type { ClientKey } from '../http/auth.ts'
import type { CacheEntry, ChatRequest, Classification, Selection } from '../plugin/types.ts'
import type { BodyEnd } from './body-end.ts'
import type { GatewayDeps } from './deps.ts'
import type { Target } from './route.ts'

export type CacheStatus = 'hit' | 'miss' | 'bypass' | 'semantic-hit'

export interface PipelineEnv {
  Bindings: Server<undefined> | undefined
  Variables: {
    deps: GatewayDeps
    /** Hooks run when the response body is finished. */
    bodyEnd: BodyEnd
    /** The relay stream forward produced, which fires `bodyEnd` itself when it is still the response body. */
    relayBody?: ReadableStream<Uint8Array>
    clientKey?: ClientKey
    requestId: string
    startedMs: number
    request: ChatRequest
    raw: Uint8Array
    target: Target
    classification?: Classification
    selection: Selection
    cacheKey?: string
    cacheStatus?: CacheStatus
    cacheStore?: boolean
    cached?: CacheEntry
    /** The SERVER span's context (src/http/trace-request.ts): stage spans are its children, passed explicitly. */
    traceContext?: TraceContext
    /** The SERVER span itself, for decision attributes. */
    span?: Span
    /** Set once the `response` PipelineEvent went out (forward's end); the request middleware emits it otherwise. */
    responded?: boolean
  }
}
