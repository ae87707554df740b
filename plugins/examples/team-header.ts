/**
 * Example middleware plugin: tags every answer with the caller's team (`x-team` request header) and, with
 * `required: true`, turns away model requests that name none. Middleware plugins are Hono middleware: they run
 * in config order ahead of every endpoint, generation routes included. Load it with
 * `{ "use": "./plugins/examples/team-header.ts", "options": { "required": true } }`.
 */
import * as v from 'valibot'
import { definePlugin } from 'switchyard/plugin'

export default definePlugin({
  name: 'team-header',
  kind: 'middleware',
  options: v.strictObject({
    /** Answer 400 to POST requests without an `x-team` header. */
    required: v.optional(v.boolean(), false),
  }),
  setup: ({ options }) => ({
    async handle(c, next) {
      const team = c.req.header('x-team')
      if (!team && options.required && c.req.method === 'POST') {
        const message = 'send an x-team header naming your team'
        // The error in the caller's protocol: Ollama's `{"error"}` under /api/, OpenAI's `{error: {...}}` elsewhere.
        return c.req.path.startsWith('/api/')
          ? c.json({ error: message }, 400)
          : c.json({ error: { message, type: 'invalid_request_error', param: null, code: 'missing_team' } }, 400)
      }
      await next()
      if (team) c.res.headers.set('x-team', team.replace(/[^\w.-]/g, '?').slice(0, 64))
    },
  }),
})
