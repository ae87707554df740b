/** The Ollama surface: the pipeline on chat/generate/embed, listings merged across backends, model management, errors as `{"error"}`. */
import { Hono } from 'hono'
import { InvalidRequestError, ModelNotFoundError } from '../../errors.ts'
import { describeError, ollamaErrorBody } from '../../http/describe-error.ts'
import type { Pipeline } from '../../pipeline/context.ts'
import type { GatewayDeps } from '../../pipeline/deps.ts'
import type { PipelineEnv } from '../../pipeline/env.ts'
import { knownModels, resolveTarget, routeNames } from '../../pipeline/route.ts'
import { authStage, cacheStage, classifyStage, forwardStage, parseStage, selectStage } from '../../pipeline/stages.ts'
import { backendHeaders } from '../../pipeline/upstream.ts'
import type { ModelInfo } from '../../plugin/types.ts'
import { readJsonBody } from '../body.ts'
import { addManagementRoutes } from './manage.ts'

const MODIFIED_AT = new Date().toISOString()
export const OLLAMA_VERSION = '0.12.0'

function details(m: ModelInfo | undefined, family = m?.family ?? '') {
  return {
    parent_model: '', format: 'gguf', family, families: family ? [family] : null,
    parameter_size: m?.parameterSize ?? '', quantization_level: m?.quantization ?? '',
  }
}

function modelInfo(deps: GatewayDeps, name: string): ModelInfo | undefined {
  for (const b of deps.health.views()) {
    const found = b.models.find((m) => m.name === name)
    if (found) return found
  }
  return undefined
}

function tags(deps: GatewayDeps) {
  const digest = (name: string) => new Bun.CryptoHasher('sha256').update(name).digest('hex')
  const real = knownModels(deps).map((name) => {
    const m = modelInfo(deps, name)
    return { name, model: name, modified_at: MODIFIED_AT, size: m?.sizeBytes ?? 0, digest: digest(name), details: details(m) }
  })
  const virtual = routeNames(deps).map((name) => ({
    name, model: name, modified_at: MODIFIED_AT, size: 0, digest: digest(name), details: details(undefined, 'switchyard'),
  }))
  return { models: [...real, ...virtual] }
}

function ps(deps: GatewayDeps) {
  const models = deps.health.views().flatMap((b) =>
    b.loaded.map((l) => {
      const m = modelInfo(deps, l.name)
      return {
        name: l.name, model: l.name, size: m?.sizeBytes ?? l.sizeVramBytes ?? 0, digest: '', details: details(m),
        expires_at: l.expiresAt ?? '', size_vram: l.sizeVramBytes ?? 0, backend: b.name,
      }
    }),
  )
  return { models }
}

/** POST paths that run the pipeline (served by the gateway's dispatch ahead of Hono; see src/pipeline/context.ts). */
export const ollamaPipelines: Readonly<Record<string, Pipeline>> = {
  '/api/chat': { protocol: 'ollama', stages: [parseStage('ollama', 'chat'), cacheStage, classifyStage, selectStage, forwardStage] },
  '/api/generate': { protocol: 'ollama', stages: [parseStage('ollama', 'generate'), cacheStage, classifyStage, selectStage, forwardStage] },
  '/api/embed': { protocol: 'ollama', stages: [parseStage('ollama', 'embed'), cacheStage, selectStage, forwardStage] },
}

/** Listings, version, `show` and model management. */
export function createOllamaRoutes() {
  const app = new Hono<PipelineEnv>()
  app.on(['GET', 'HEAD'], '/api/tags', authStage, (c) => c.json(tags(c.get('deps'))))
  app.get('/api/ps', authStage, (c) => c.json(ps(c.get('deps'))))
  app.on(['GET', 'HEAD'], '/api/version', (c) => c.json({ version: OLLAMA_VERSION }))
  app.post('/api/show', authStage, async (c) => {
    const deps = c.get('deps')
    const { json } = await readJsonBody(c.req.raw, deps.config.server.maxBodyBytes)
    const name = typeof json.model === 'string' ? json.model : typeof json.name === 'string' ? json.name : undefined
    if (!name) throw new InvalidRequestError('`model` is required')
    const target = resolveTarget(deps, name)
    if (target.kind === 'route') {
      return c.json({ modelfile: '', parameters: '', template: '', details: details(undefined, 'switchyard'), model_info: { 'switchyard.route': target.name }, capabilities: ['completion'] })
    }
    const backend = deps.health.views().find((b) => b.kind === 'ollama' && b.up !== false && b.models.some((m) => m.name === target.model))
    if (backend) {
      const config = deps.config.backends.find((b) => b.name === backend.name)
      const headers = { ...(config ? backendHeaders(config) : {}), 'content-type': 'application/json' }
      const res = await fetch(`${backend.url}/api/show`, { method: 'POST', body: JSON.stringify({ ...json, model: target.model }), headers, signal: AbortSignal.timeout(10_000) })
      if (res.ok) return c.json(await res.json())
    }
    const m = modelInfo(deps, target.model)
    if (!m) throw new ModelNotFoundError(name, knownModels(deps))
    return c.json({ modelfile: '', parameters: '', template: '', details: details(m), model_info: { 'general.parameter_count': m.parameters ?? 0 }, capabilities: ['completion'] })
  })
  addManagementRoutes(app)
  app.onError((error, c) => {
    const e = describeError(error, c.get('deps')?.log)
    return c.json(ollamaErrorBody(e), e.status as 400, e.headers)
  })
  return app
}
