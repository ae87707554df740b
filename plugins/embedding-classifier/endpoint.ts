/** Where a model-backed classifier sends its requests: a named gateway backend, or an explicit url + kind. */
import * as v from 'valibot'
import { BACKEND_KINDS, backendTarget } from 'switchyard/plugin'
import type { BackendKind, BackendTarget, GatewayInfo } from 'switchyard/plugin'

/** Option fields shared by the embedding and llm classifiers to name their backend. */
export const endpointOptions = {
  /** A backend name from the gateway config; its kind and url are used. */
  backend: v.optional(v.pipe(v.string(), v.minLength(1))),
  url: v.optional(v.pipe(v.string(), v.url())),
  kind: v.optional(v.picklist(BACKEND_KINDS), 'ollama'),
}

export type Endpoint = BackendTarget

/** Resolve the endpoint in setup; throws a config-style message when neither a known backend nor a url is given. */
export function resolveEndpoint(
  plugin: string,
  options: { readonly backend?: string | undefined; readonly url?: string | undefined; readonly kind: BackendKind },
  gateway: GatewayInfo,
): Endpoint {
  if (options.backend !== undefined) return backendTarget(plugin, options.backend, gateway)
  if (options.url !== undefined) return { kind: options.kind, url: options.url.replace(/\/+$/, '') }
  throw new Error(`${plugin}: set "backend" (a configured backend name) or "url" (with "kind")`)
}
