/** Example custom auditor: a JSON request's answer must parse. Load it with `{ "use": "./plugins/examples/json-auditor.ts" }`. */
import * as v from 'valibot'
import { definePlugin, lastUserText } from 'switchyard/plugin'
import type { ChatRequest } from 'switchyard/plugin'

/** Ollama's `format`, OpenAI's `response_format` (json_object / json_schema), or a prompt that says JSON. */
function asksForJson(request: ChatRequest): boolean {
  const { format, response_format: responseFormat } = request.body as { format?: unknown; response_format?: { type?: unknown } }
  if (format) return true
  if (responseFormat?.type === 'json_object' || responseFormat?.type === 'json_schema') return true
  return /\bJSON\b/.test(lastUserText(request))
}

export default definePlugin({
  name: 'json-auditor',
  kind: 'auditor',
  options: v.strictObject({}),
  setup: () => ({
    audit(request, answer) {
      if (!asksForJson(request)) return { score: 1, reasons: [] }
      // A model often wraps JSON in a ```json fence; then the fence's body is the JSON.
      const fenced = /```json[ \t]*\n([\s\S]*?)\n?```/i.exec(answer.text)?.[1]
      try {
        JSON.parse(fenced ?? answer.text)
        return { score: 1, reasons: [] }
      } catch (error) {
        return { score: 0, reasons: [`asked for JSON, answer does not parse: ${(error as Error).message}`] }
      }
    },
  }),
})
