/** Small request helpers shared by the cache tests: post a body, read status, cache header and text. */

export interface Answer {
  readonly status: number
  readonly cache: string | null
  readonly model: string | null
  readonly headers: Headers
  readonly text: string
}

export async function post(url: string, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
  const text = await res.text()
  return { status: res.status, cache: res.headers.get('x-switchyard-cache'), model: res.headers.get('x-switchyard-model'), headers: res.headers, text }
}

/** An Ollama chat request that is deterministic (temperature 0), so exact caches serve it. */
export function ollamaChat(content: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: 'qwen2.5-coder:1.5b', stream: false, messages: [{ role: 'user', content }], options: { temperature: 0, num_predict: 8 }, ...extra }
}

/** An OpenAI chat request that is deterministic (temperature 0). */
export function openaiChat(content: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: 'qwen2.5-coder:1.5b', temperature: 0, max_tokens: 8, messages: [{ role: 'user', content }], ...extra }
}

export async function simStats(simUrl: string): Promise<{ requests: number; byModel: Record<string, number> }> {
  return (await (await fetch(`${simUrl}/sim/stats`)).json()) as { requests: number; byModel: Record<string, number> }
}
