/** Validate an Ollama request body and normalize it into a ChatRequest. */
import * as v from 'valibot'
import { validateBody } from '../validate.ts'
import type { ChatRequest, Operation } from '../../plugin/types.ts'

const Model = v.pipe(v.string('`model` must be a string'), v.minLength(1, '`model` must not be empty'))
const Options = v.optional(
  v.nullable(v.looseObject({ temperature: v.optional(v.number()), seed: v.optional(v.number()), num_predict: v.optional(v.number()) }, '`options` must be an object')),
)
const Message = v.looseObject({
  role: v.string('each message needs a string `role`'),
  content: v.optional(v.nullable(v.string('message `content` must be a string'))),
  images: v.optional(v.nullable(v.array(v.string()))),
})
const Common = { model: Model, stream: v.optional(v.nullable(v.boolean('`stream` must be a boolean'))), options: Options }

const ChatBody = v.looseObject({ ...Common, messages: v.optional(v.nullable(v.array(Message, '`messages` must be an array'))), tools: v.optional(v.nullable(v.array(v.unknown()))) })
const GenerateBody = v.looseObject({ ...Common, prompt: v.optional(v.nullable(v.string('`prompt` must be a string'))), system: v.optional(v.nullable(v.string())) })
const EmbedBody = v.looseObject({
  model: Model,
  input: v.optional(v.union([v.string(), v.array(v.string())], '`input` must be a string or an array of strings')),
  prompt: v.optional(v.string()),
})


export function parseOllama(operation: Operation, json: Record<string, unknown>): ChatRequest {
  if (operation === 'chat') {
    const body = validateBody(ChatBody, json)
    const messages = (body.messages ?? []).map((m) =>
      m.images?.length ? { role: m.role, content: m.content ?? '', images: m.images.length } : { role: m.role, content: m.content ?? '' },
    )
    return {
      protocol: 'ollama', operation, model: body.model, messages, stream: body.stream !== false,
      maxTokens: body.options?.num_predict, temperature: body.options?.temperature, seed: body.options?.seed,
      tools: body.tools?.length, body: json,
    }
  }
  if (operation === 'generate') {
    const body = validateBody(GenerateBody, json)
    const messages = [
      ...(body.system ? [{ role: 'system', content: body.system }] : []),
      ...(body.prompt ? [{ role: 'user', content: body.prompt }] : []),
    ]
    return {
      protocol: 'ollama', operation, model: body.model, messages, stream: body.stream !== false,
      maxTokens: body.options?.num_predict, temperature: body.options?.temperature, seed: body.options?.seed, body: json,
    }
  }
  const body = validateBody(EmbedBody, json)
  const input = body.input ?? body.prompt ?? ''
  return { protocol: 'ollama', operation, model: body.model, messages: [{ role: 'user', content: Array.isArray(input) ? input.join('\n') : input }], stream: false, body: json }
}
