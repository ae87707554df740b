/** Validate an OpenAI request body and normalize it into a ChatRequest. */
import * as v from 'valibot'
import { validateBody } from '../validate.ts'
import type { ChatMessage, ChatRequest, Operation } from '../../plugin/types.ts'

const Model = v.pipe(v.string('`model` must be a string'), v.minLength(1, '`model` must not be empty'))
const OptionalNumber = v.optional(v.nullable(v.number()))

const ContentPart = v.looseObject({ type: v.string(), text: v.optional(v.string()) })
const Message = v.looseObject({
  role: v.string('each message needs a string `role`'),
  content: v.optional(v.nullable(v.union([v.string(), v.array(ContentPart)], '`content` must be a string or an array of parts'))),
})

const Common = {
  model: Model,
  stream: v.optional(v.nullable(v.boolean('`stream` must be a boolean'))),
  temperature: OptionalNumber,
  seed: OptionalNumber,
  max_tokens: OptionalNumber,
  max_completion_tokens: OptionalNumber,
}

const ChatBody = v.looseObject({
  ...Common,
  messages: v.pipe(v.array(Message, '`messages` must be an array'), v.minLength(1, '`messages` must not be empty')),
  tools: v.optional(v.nullable(v.array(v.unknown()))),
})
const PromptValue = v.union([v.string(), v.array(v.union([v.string(), v.number(), v.array(v.number())]))], '`prompt` must be a string or an array')
const CompletionBody = v.looseObject({ ...Common, prompt: v.optional(PromptValue) })
const EmbeddingBody = v.looseObject({ model: Model, input: v.union([v.string(), v.array(v.unknown())], '`input` must be a string or an array') })


function partsText(content: string | readonly { type: string; text?: string }[] | null | undefined): { text: string; images: number } {
  if (content == null) return { text: '', images: 0 }
  if (typeof content === 'string') return { text: content, images: 0 }
  let text = ''
  let images = 0
  for (const part of content) {
    if (typeof part.text === 'string') text += text ? `\n${part.text}` : part.text
    else if (part.type.startsWith('image') || part.type.startsWith('input_')) images++
  }
  return { text, images }
}

function textOf(value: unknown): string {
  if (typeof value === 'string') return value
  if (Array.isArray(value)) return value.filter((x) => typeof x === 'string').join('\n')
  return ''
}

const num = (x: number | null | undefined) => (x == null ? undefined : x)

export function parseOpenAI(operation: Operation, json: Record<string, unknown>): ChatRequest {
  if (operation === 'chat') {
    const body = validateBody(ChatBody, json)
    const messages: ChatMessage[] = body.messages.map((m) => {
      const { text, images } = partsText(m.content)
      return images ? { role: m.role, content: text, images } : { role: m.role, content: text }
    })
    return {
      protocol: 'openai', operation, model: body.model, messages, stream: body.stream === true,
      maxTokens: num(body.max_completion_tokens) ?? num(body.max_tokens), temperature: num(body.temperature),
      seed: num(body.seed), tools: body.tools?.length, body: json,
    }
  }
  if (operation === 'completion') {
    const body = validateBody(CompletionBody, json)
    return {
      protocol: 'openai', operation, model: body.model, messages: [{ role: 'user', content: textOf(body.prompt) }],
      stream: body.stream === true, maxTokens: num(body.max_tokens), temperature: num(body.temperature), seed: num(body.seed), body: json,
    }
  }
  const body = validateBody(EmbeddingBody, json)
  return { protocol: 'openai', operation, model: body.model, messages: [{ role: 'user', content: textOf(body.input) }], stream: false, body: json }
}
