/** Ask for a routing decision (in-process gateway or a running one) and render it for the terminal. */
import type { Gateway } from '../gateway.ts'
import { type Colors, classColor } from './color.ts'
import { messageOf } from '../errors.ts'

/** The body `POST /router/explain` answers with. */
export interface ExplainResult {
  readonly model: string | null
  readonly route: string | null
  readonly class: string | null
  readonly confidence: number | null
  readonly classifier: string | null
  readonly task?: string | null
  readonly reasons: readonly string[]
  readonly candidates: readonly string[]
  readonly backend: string | null
  readonly fallbacks: readonly { readonly model: string; readonly backend: string }[]
}

export interface ExplainTarget {
  /** A running gateway's base URL; else `gateway` answers in-process. */
  readonly url?: string
  readonly gateway?: Gateway
  /** Sent as `Authorization: Bearer` (the admin key, when the gateway has one). */
  readonly key?: string
}

export class ExplainRequestError extends Error {
  override readonly name = 'ExplainRequestError'
}

export async function requestExplain(target: ExplainTarget, prompt: string, model: string): Promise<ExplainResult> {
  const base = (target.url ?? 'http://switchyard.local').replace(/\/+$/, '')
  const req = new Request(`${base}/router/explain`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(target.key ? { authorization: `Bearer ${target.key}` } : {}) },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: prompt }] }),
  })
  let res: Response
  try {
    res = target.gateway ? await target.gateway.fetch(req) : await fetch(req, { signal: AbortSignal.timeout(15_000) })
  } catch (error) {
    throw new ExplainRequestError(`cannot reach ${base}: ${messageOf(error)}`)
  }
  const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } | string }
  if (!res.ok) {
    const message = typeof body.error === 'string' ? body.error : (body.error?.message ?? `HTTP ${res.status}`)
    const hint = res.status === 401 ? ' (pass the admin key with --key or SWITCHYARD_ADMIN_KEY)' : ''
    throw new ExplainRequestError(`${message}${hint}`)
  }
  return body as unknown as ExplainResult
}

export function formatExplain(r: ExplainResult, prompt: string, c: Colors): string {
  const tint = classColor(c, r.class)
  const label = (s: string) => c.dim(s.padEnd(11))
  const lines = [`${label('prompt')}${JSON.stringify(prompt.length > 120 ? `${prompt.slice(0, 117)}...` : prompt)}`]
  if (r.route) lines.push(`${label('route')}${r.route}`)
  if (r.class) {
    const confidence = r.confidence === null ? '' : ` ${c.dim('confidence')} ${r.confidence.toFixed(2)}`
    lines.push(`${label('class')}${c.bold(tint(r.class))}${confidence}${r.classifier ? ` ${c.dim('by')} ${r.classifier}` : ''}${r.task ? ` ${c.dim('task')} ${r.task}` : ''}`)
  } else lines.push(`${label('class')}${c.dim('none: a named model is not classified')}`)
  lines.push(`${label('model')}${r.model ? `${c.bold(c.cyan(r.model))} ${c.dim('on')} ${c.bold(r.backend ?? '?')}` : c.red('no backend can serve this now')}`)
  lines.push(`${label('candidates')}${r.candidates.join(', ') || c.dim('none')}`)
  if (r.fallbacks.length) lines.push(`${label('fallbacks')}${r.fallbacks.map((f) => `${f.model}@${f.backend}`).join(', ')}`)
  lines.push(c.dim('reasons'))
  for (const reason of r.reasons) lines.push(`  • ${reason}`)
  lines.push(c.dim('nothing was sent to a model'))
  return lines.join('\n')
}
