/** The typed `c.var` of the Hono-served routes (listings, admin, plugin endpoints). */
import type { Server } from 'bun'
import type { RequestContext } from './context.ts'
import type { GatewayDeps } from './deps.ts'

export interface PipelineEnv {
  Bindings: Server<undefined> | undefined
  Variables: {
    deps: GatewayDeps
    /** The request's id, clock, body-end hooks and SERVER span. */
    ctx: RequestContext
  }
}
