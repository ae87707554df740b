/** Every failure on the request path: a class with a fixed status and a stable snake_case code. */

export const ERROR_CODES = [
  'invalid_request',
  'invalid_json',
  'model_not_found',
  'no_backend',
  'upstream_error',
  'upstream_timeout',
  'payload_too_large',
  'rate_limited',
  'overloaded',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'retrain_failed',
  'internal_error',
] as const
export type ErrorCode = (typeof ERROR_CODES)[number]

export abstract class SwitchyardError extends Error {
  abstract readonly status: number
  abstract readonly code: ErrorCode
  /** Extra response headers (for example `retry-after`). */
  readonly headers: Readonly<Record<string, string>> = {}
}

export class InvalidRequestError extends SwitchyardError {
  readonly status = 400
  readonly code = 'invalid_request'
  override readonly name = 'InvalidRequestError'
}

export class InvalidJsonError extends SwitchyardError {
  readonly status = 400
  readonly code = 'invalid_json'
  override readonly name = 'InvalidJsonError'
  constructor(detail: string, options?: ErrorOptions) {
    super(`request body is not valid JSON: ${detail}`, options)
  }
}

export class ModelNotFoundError extends SwitchyardError {
  readonly status = 404
  readonly code = 'model_not_found'
  override readonly name = 'ModelNotFoundError'
  constructor(
    readonly model: string,
    readonly available: readonly string[],
  ) {
    super(`model "${model}" not found; available: ${available.join(', ') || 'none'}`)
  }
}

export class NoBackendError extends SwitchyardError {
  readonly status = 503
  readonly code = 'no_backend'
  override readonly name = 'NoBackendError'
  override readonly headers = { 'retry-after': '5' }
}

export class UpstreamError extends SwitchyardError {
  readonly code = 'upstream_error'
  override readonly name = 'UpstreamError'
  constructor(
    message: string,
    readonly status: number = 502,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

export class UpstreamTimeoutError extends SwitchyardError {
  readonly status = 504
  readonly code = 'upstream_timeout'
  override readonly name = 'UpstreamTimeoutError'
}

export class PayloadTooLargeError extends SwitchyardError {
  readonly status = 413
  readonly code = 'payload_too_large'
  override readonly name = 'PayloadTooLargeError'
  constructor(limitBytes: number) {
    super(`request body is larger than ${limitBytes} bytes`)
  }
}

export class OverloadedError extends SwitchyardError {
  readonly code = 'overloaded'
  override readonly name = 'OverloadedError'
  override readonly headers: Readonly<Record<string, string>>
  /** 429 when queues are full (retry soon), 503 when a queued request waited too long. */
  constructor(
    message: string,
    readonly status: 429 | 503,
    retryAfterS: number,
  ) {
    super(message)
    this.headers = { 'retry-after': String(retryAfterS) }
  }
}

export class UnauthorizedError extends SwitchyardError {
  readonly status = 401
  readonly code = 'unauthorized'
  override readonly name = 'UnauthorizedError'
  override readonly headers = { 'www-authenticate': 'Bearer' }
}

export class ForbiddenError extends SwitchyardError {
  readonly status = 403
  readonly code = 'forbidden'
  override readonly name = 'ForbiddenError'
}

export class RateLimitedError extends SwitchyardError {
  readonly status = 429
  readonly code = 'rate_limited'
  override readonly name = 'RateLimitedError'
  override readonly headers: Readonly<Record<string, string>>
  constructor(message: string, retryAfterS: number) {
    super(message)
    this.headers = { 'retry-after': String(Math.max(1, Math.ceil(retryAfterS))) }
  }
}

export class NotFoundError extends SwitchyardError {
  readonly status = 404
  readonly code = 'not_found'
  override readonly name = 'NotFoundError'
}

/** The request is valid but the gateway's state does not allow it now (a retrain already running, nothing to roll back). */
export class ConflictError extends SwitchyardError {
  readonly status = 409
  readonly code = 'conflict'
  override readonly name = 'ConflictError'
}

/** A retrain broke (threw, ran out of memory, could not write its weights); the model in use keeps serving. */
export class RetrainFailedError extends SwitchyardError {
  readonly status = 500
  readonly code = 'retrain_failed'
  override readonly name = 'RetrainFailedError'
}

/** A config file or plugin entry failed validation; lists every issue with its path. Never an HTTP response. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  constructor(
    readonly issues: readonly string[],
    readonly source = 'config',
  ) {
    super(`invalid ${source}:\n${issues.map((i) => `  - ${i}`).join('\n')}`)
  }
}

/** A thrown value's message: an Error's own, anything else as a string. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
