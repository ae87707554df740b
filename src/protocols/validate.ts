/** Run a request-body schema once and turn its issues into one 400 message a client can act on. */
import * as v from 'valibot'
import { formatIssue } from '../config/load.ts'
import { InvalidRequestError } from '../errors.ts'

export function validateBody<S extends v.GenericSchema>(schema: S, body: unknown): v.InferOutput<S> {
  const result = v.safeParse(schema, body)
  if (result.success) return result.output
  const missingModel = result.issues.some((i) => (i.path?.[0] as { key?: unknown } | undefined)?.key === 'model' && i.received === 'undefined')
  throw new InvalidRequestError(missingModel ? '`model` is required' : result.issues.map((i) => formatIssue(i)).join('; '))
}
