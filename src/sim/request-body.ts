/** Validates a parsed request body against a valibot schema and words the first problem for an error body. */
import * as v from 'valibot'

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string }

export function parseBody<S extends v.GenericSchema>(schema: S, body: unknown): Parsed<v.InferOutput<S>> {
  const result = v.safeParse(schema, body)
  if (result.success) return { ok: true, value: result.output }
  const issue = result.issues[0]
  const path = issue.path?.map((item) => String(item.key)).join('.')
  return { ok: false, message: path ? `invalid ${path}: ${issue.message}` : issue.message }
}

/** The `model` field when the body has one: what stats count the request under. */
export function modelField(body: unknown): string | undefined {
  if (!body || typeof body !== 'object' || !('model' in body)) return undefined
  return typeof body.model === 'string' && body.model !== '' ? body.model : undefined
}

/** Ollama's keep_alive: seconds, or a duration string like "5m"; `null` from JSON means unset. */
export const KeepAlive = v.nullish(v.union([v.number(), v.string()]))

/** A limit like num_predict or max_tokens; `null` from JSON means unset. */
export const TokenLimit = v.nullish(v.pipe(v.number(), v.integer()))
