/** How one request is sent to one backend: path, body and headers, translated where the protocols differ. */
import type { BackendConfig } from '../config/schema.ts'
import type { ChatRequest } from '../plugin/types.ts'
import { toOpenAIRequest } from '../protocols/ollama/translate.ts'

export interface UpstreamRequest {
  readonly url: string
  readonly body: string | Uint8Array
  readonly headers: Record<string, string>
  /** True when an Ollama client is served by an OpenAI backend and responses need mapping back. */
  readonly translate: boolean
}

const CLIENT_PATHS = {
  openai: { chat: '/v1/chat/completions', completion: '/v1/completions', embed: '/v1/embeddings', generate: '/v1/completions' },
  ollama: { chat: '/api/chat', generate: '/api/generate', embed: '/api/embed', completion: '/api/generate' },
} as const

export function clientPath(req: ChatRequest): string {
  return CLIENT_PATHS[req.protocol][req.operation]
}

/** The body to send: the client's own bytes when nothing changes, else its JSON with the model replaced. */
function rewrittenBody(req: ChatRequest, raw: Uint8Array, model: string): string | Uint8Array {
  if (req.model === model) return raw
  return JSON.stringify({ ...req.body, model })
}

/** What every request to a backend carries: its configured `headers`, and `apiKey` as a Bearer token. */
export function backendHeaders(backend: Pick<BackendConfig, 'headers' | 'apiKey'>): Record<string, string> {
  return backend.apiKey ? { ...backend.headers, authorization: `Bearer ${backend.apiKey}` } : { ...backend.headers }
}

export function planUpstream(req: ChatRequest, raw: Uint8Array, backend: BackendConfig, model: string): UpstreamRequest {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'accept-encoding': 'identity',
    ...backendHeaders(backend),
  }
  if (req.protocol === 'ollama' && backend.kind === 'openai') {
    const plan = toOpenAIRequest(req, model)
    return { url: backend.url + plan.path, body: JSON.stringify(plan.body), headers, translate: true }
  }
  // OpenAI clients reach Ollama backends through Ollama's own /v1 endpoints.
  return { url: backend.url + clientPath(req), body: rewrittenBody(req, raw, model), headers, translate: false }
}
