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
  /**
   * The gateway asked for `stream_options.include_usage` on the client's behalf: the usage-only chunk (and the
   * `"usage":null` fields that come with it) must not reach the client.
   */
  readonly stripUsage: boolean
}

const CLIENT_PATHS = {
  openai: { chat: '/v1/chat/completions', completion: '/v1/completions', embed: '/v1/embeddings', generate: '/v1/completions' },
  ollama: { chat: '/api/chat', generate: '/api/generate', embed: '/api/embed', completion: '/api/generate' },
} as const

export function clientPath(req: ChatRequest): string {
  return CLIENT_PATHS[req.protocol][req.operation]
}

/** A streamed OpenAI chat or completion whose client did not ask for usage: the gateway asks for it (and hides it). */
export function needsUsageAsked(req: ChatRequest): boolean {
  if (!req.stream || req.protocol !== 'openai' || req.operation === 'embed') return false
  const options = req.body.stream_options as { include_usage?: unknown } | null | undefined
  return options?.include_usage !== true
}

const encoder = new TextEncoder()
const ASK_USAGE = encoder.encode('"stream_options":{"include_usage":true},')

/**
 * The body to send: the client's own bytes when nothing changes, else its JSON with the model replaced and, for a
 * stream whose client did not ask, `stream_options.include_usage` set. With the model unchanged and no
 * `stream_options` of the client's, that field is spliced in after the opening brace instead of re-serializing.
 */
function rewrittenBody(req: ChatRequest, raw: Uint8Array, model: string, askUsage: boolean): string | Uint8Array {
  if (!askUsage) return req.model === model ? raw : JSON.stringify({ ...req.body, model })
  const options = req.body.stream_options
  const brace = raw.indexOf(123)
  if (req.model === model && !('stream_options' in req.body) && brace !== -1) {
    const body = new Uint8Array(raw.length + ASK_USAGE.length)
    body.set(raw.subarray(0, brace + 1))
    body.set(ASK_USAGE, brace + 1)
    body.set(raw.subarray(brace + 1), brace + 1 + ASK_USAGE.length)
    return body
  }
  const own = options && typeof options === 'object' ? options : {}
  return JSON.stringify({ ...req.body, model, stream_options: { ...own, include_usage: true } })
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
    return { url: backend.url + plan.path, body: JSON.stringify(plan.body), headers, translate: true, stripUsage: false }
  }
  // OpenAI clients reach Ollama backends through Ollama's own /v1 endpoints.
  const askUsage = needsUsageAsked(req)
  return { url: backend.url + clientPath(req), body: rewrittenBody(req, raw, model, askUsage), headers, translate: false, stripUsage: askUsage }
}
