/** The one mapping from a thrown value to `{ status, code, message, headers }`. */
import { type ErrorCode, SwitchyardError } from '../errors.ts'
import type { Logger } from '../plugin/types.ts'

export interface DescribedError {
  readonly status: number
  readonly code: ErrorCode
  readonly message: string
  readonly headers: Readonly<Record<string, string>>
}

export function describeError(error: unknown, log?: Logger): DescribedError {
  if (error instanceof SwitchyardError) return { status: error.status, code: error.code, message: error.message, headers: error.headers }
  log?.error('unexpected error', { error: error instanceof Error ? (error.stack ?? error.message) : String(error) })
  return { status: 500, code: 'internal_error', message: 'internal error in the gateway', headers: {} }
}

const OPENAI_TYPES: Record<number, string> = {
  400: 'invalid_request_error', 401: 'authentication_error', 403: 'permission_error', 404: 'not_found_error',
  413: 'invalid_request_error', 429: 'rate_limit_error',
}

/** OpenAI's error envelope. */
export function openAIErrorBody(e: Pick<DescribedError, 'status' | 'code' | 'message'>) {
  return { error: { message: e.message, type: OPENAI_TYPES[e.status] ?? 'api_error', param: null, code: e.code } }
}

/** Ollama's error body. */
export function ollamaErrorBody(e: Pick<DescribedError, 'message'>) {
  return { error: e.message }
}
