/** LLM classifier: asks a small model for one word (SIMPLE, MODERATE or COMPLEX), with a timeout and a fallback. */
import * as v from 'valibot'
import { definePlugin, TASK_CLASSES, messageOf, postJson } from 'switchyard/plugin'
import type { ChatRequest, Classification, TaskClass } from 'switchyard/plugin'
import { endpointOptions, resolveEndpoint } from '../embedding-classifier/endpoint.ts'
import { detectTask } from '../keyword-classifier/task.ts'
import { parseLabel, sanitizeForReason } from './parse-label.ts'

export const DEFAULT_INSTRUCTIONS = [
  'You route requests to a small or a large language model. Classify the request below.',
  'SIMPLE: trivia, short conceptual questions, one-line code snippets, tiny edits (add a docstring or comment, rename, fix a typo, explain a line).',
  'MODERATE: implement one function or write a short program from a clear spec.',
  'COMPLEX: hard algorithmic problems, class or module-level implementations, multi-part design, debugging or analysis.',
  'Reply with exactly one word: SIMPLE, MODERATE or COMPLEX.',
].join('\n')

const OllamaChat = v.object({ message: v.object({ content: v.string() }), prompt_eval_duration: v.optional(v.number()), eval_duration: v.optional(v.number()) })
const OpenAIChat = v.object({ choices: v.pipe(v.array(v.object({ message: v.object({ content: v.nullish(v.string(), '') }) })), v.minLength(1)) })

/** The conversation as the judge sees it: roles kept, long turns clipped, newest last. */
function transcript(req: ChatRequest, maxChars: number): string {
  const parts = req.messages.map((m) => `[${m.role}]\n${m.content.length > maxChars ? `${m.content.slice(0, maxChars)} ...` : m.content}`)
  let text = parts.join('\n\n')
  if (text.length > maxChars * 2) text = `...${text.slice(-maxChars * 2)}`
  return text
}

export default definePlugin({
  name: 'llm-classifier',
  kind: 'classifier',
  options: v.strictObject({
    ...endpointOptions,
    model: v.optional(v.pipe(v.string(), v.minLength(1)), 'qwen2.5-coder:1.5b'),
    timeoutMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 2000),
    fallback: v.optional(v.picklist(TASK_CLASSES), 'MODERATE'),
    instructions: v.optional(v.pipe(v.string(), v.minLength(1)), DEFAULT_INSTRUCTIONS),
    /** Characters of each message shown to the model. */
    maxChars: v.optional(v.pipe(v.number(), v.integer(), v.minValue(100)), 4000),
  }),
  setup: ({ name, options, gateway, signal: pluginSignal }) => {
    const endpoint = resolveEndpoint(name, options, gateway)

    /** The judge's reply and its GPU seconds: Ollama's own timings, else the call's wall time. */
    const ask = async (req: ChatRequest, signal: AbortSignal): Promise<{ reply: string; gpuSeconds: number }> => {
      const started = performance.now()
      const messages = [
        { role: 'system', content: options.instructions },
        { role: 'user', content: `Request:\n${transcript(req, options.maxChars)}\n\nAnswer with one word.` },
      ]
      if (endpoint.kind === 'ollama') {
        const body = { model: options.model, messages, stream: false, options: { temperature: 0, num_predict: 8 } }
        const out = v.parse(OllamaChat, await postJson(endpoint, '/api/chat', body, signal))
        const timed = out.eval_duration === undefined ? undefined : ((out.prompt_eval_duration ?? 0) + out.eval_duration) / 1e9
        return { reply: out.message.content, gpuSeconds: timed ?? (performance.now() - started) / 1000 }
      }
      const body = { model: options.model, messages, stream: false, temperature: 0, max_tokens: 8 }
      const reply = v.parse(OpenAIChat, await postJson(endpoint, '/v1/chat/completions', body, signal)).choices[0]?.message.content ?? ''
      return { reply, gpuSeconds: (performance.now() - started) / 1000 }
    }

    const fallback = (req: ChatRequest, why: string): Classification => {
      const scores = { SIMPLE: 0.3, MODERATE: 0.3, COMPLEX: 0.3, [options.fallback]: 0.4 } as Record<TaskClass, number>
      return { label: options.fallback, confidence: 0.2, scores, reasons: [why, `fallback ${options.fallback}`], task: detectTask(req) }
    }

    return {
      async classify(req, signal): Promise<Classification> {
        const timeout = AbortSignal.timeout(options.timeoutMs)
        let answer: Awaited<ReturnType<typeof ask>>
        try {
          answer = await ask(req, AbortSignal.any([signal, pluginSignal, timeout]))
        } catch (err) {
          if (signal.aborted || pluginSignal.aborted) throw err
          if (timeout.aborted) return fallback(req, `llm timed out after ${options.timeoutMs} ms`)
          return fallback(req, `llm call failed: ${sanitizeForReason(messageOf(err))}`)
        }
        const { reply, gpuSeconds } = answer
        const label = parseLabel(reply)
        if (!label) return fallback(req, `llm reply not a label: '${sanitizeForReason(reply)}'`)
        const scores = { SIMPLE: 0.1, MODERATE: 0.1, COMPLEX: 0.1, [label]: 0.8 } as Record<TaskClass, number>
        return { label, confidence: 0.8, scores, reasons: [`${options.model} says ${label}`], task: detectTask(req), gpuSeconds }
      },
    }
  },
})
