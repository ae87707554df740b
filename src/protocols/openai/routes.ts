/** The OpenAI-compatible surface: the pipeline on each generation path, model listing (errors take OpenAI's shape from the gateway's own handler). */
import { Hono } from 'hono'
import { NotFoundError } from '../../errors.ts'
import type { Pipeline } from '../../pipeline/context.ts'
import type { PipelineEnv } from '../../pipeline/env.ts'
import { knownModels, routeNames } from '../../pipeline/route.ts'
import { authStage, cacheStage, classifyStage, forwardStage, parseStage, selectStage } from '../../pipeline/stages.ts'

const CREATED = Math.floor(Date.now() / 1000)

/** POST paths that run the pipeline (served by the gateway's dispatch ahead of Hono; see src/pipeline/context.ts). */
export const openAIPipelines: Readonly<Record<string, Pipeline>> = {
  '/v1/chat/completions': { protocol: 'openai', stages: [parseStage('openai', 'chat'), cacheStage, classifyStage, selectStage, forwardStage] },
  '/v1/completions': { protocol: 'openai', stages: [parseStage('openai', 'completion'), cacheStage, classifyStage, selectStage, forwardStage] },
  '/v1/embeddings': { protocol: 'openai', stages: [parseStage('openai', 'embed'), cacheStage, selectStage, forwardStage] },
}

/** Model listing. */
export function createOpenAIRoutes() {
  const app = new Hono<PipelineEnv>()
  const model = (id: string, ownedBy: string) => ({ id, object: 'model', created: CREATED, owned_by: ownedBy })
  const list = (deps: PipelineEnv['Variables']['deps']) => [
    ...knownModels(deps).map((id) => model(id, 'library')),
    ...routeNames(deps).map((id) => model(id, 'switchyard')),
  ]
  app.get('/v1/models', authStage, (c) => c.json({ object: 'list', data: list(c.get('deps')) }))
  app.get('/v1/models/:id{.+}', authStage, (c) => {
    const found = list(c.get('deps')).find((m) => m.id === c.req.param('id'))
    if (!found) throw new NotFoundError(`The model \`${c.req.param('id')}\` does not exist`)
    return c.json(found)
  })
  return app
}
