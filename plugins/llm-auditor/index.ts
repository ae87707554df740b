/** llm-auditor: a judge model scores the draft 0..10 on a short rubric; a judge that fails lets the draft pass. */
import * as v from 'valibot'
import { definePlugin, messageOf, postJson } from 'switchyard/plugin'
import type { AuditResult } from 'switchyard/plugin'
import { endpointOptions, resolveEndpoint } from '../embedding-classifier/endpoint.ts'
import { parseScore, sanitizeReason } from './parse-score.ts'
import { DEFAULT_INSTRUCTIONS, judgePrompt } from './prompt.ts'

/** Extra time the gateway gives on top of `timeoutMs`, so the judge's own timeout (with its reason) fires first. */
const DEADLINE_MARGIN_MS = 250
/** Tokens the judge may write: a score line and one short reason. */
const MAX_REPLY_TOKENS = 48

const OllamaChat = v.object({ message: v.object({ content: v.string() }), total_duration: v.optional(v.number()) })
const OpenAIChat = v.object({ choices: v.pipe(v.array(v.object({ message: v.object({ content: v.nullish(v.string(), '') }) })), v.minLength(1)) })

export default definePlugin({
  name: 'llm-auditor',
  kind: 'auditor',
  options: v.strictObject({
    ...endpointOptions,
    /** The judge: usually a stronger model than the one whose drafts it checks. */
    model: v.optional(v.pipe(v.string(), v.minLength(1)), 'qwen2.5-coder:7b'),
    timeoutMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 5000),
    /** Characters of the answer (and of each message of the task) the judge sees; longer ones keep head and tail. */
    maxChars: v.optional(v.pipe(v.number(), v.integer(), v.minValue(200)), 8000),
    /** The rubric, sent as the system message. */
    instructions: v.optional(v.pipe(v.string(), v.minLength(1)), DEFAULT_INSTRUCTIONS),
  }),
  setup: ({ name, options, gateway, log, signal: pluginSignal }) => {
    const endpoint = resolveEndpoint(name, options, gateway)
    const { model } = options
    let failing = false

    const ask = async (messages: readonly { role: string; content: string }[], signal: AbortSignal) => {
      if (endpoint.kind === 'ollama') {
        const body = { model, messages, stream: false, options: { temperature: 0, num_predict: MAX_REPLY_TOKENS } }
        const reply = v.parse(OllamaChat, await postJson(endpoint, '/api/chat', body, signal))
        return { text: reply.message.content, gpuNs: reply.total_duration }
      }
      const body = { model, messages, stream: false, temperature: 0, max_tokens: MAX_REPLY_TOKENS }
      return { text: v.parse(OpenAIChat, await postJson(endpoint, '/v1/chat/completions', body, signal)).choices[0]?.message.content ?? '' }
    }

    /** The failure policy: an audit never fails a request that has a usable draft. */
    const pass = (why: string, startedMs: number, judgeAtFault = true): AuditResult => {
      if (judgeAtFault && !failing) log.warn('judge failed; drafts pass until it answers again', { model, error: why })
      if (judgeAtFault) failing = true
      return { score: 1, reasons: [`judge ${model} failed: ${why} (draft passes)`], gpuSeconds: (performance.now() - startedMs) / 1000 }
    }

    return {
      timeoutMs: options.timeoutMs + DEADLINE_MARGIN_MS,
      async audit(request, answer, signal): Promise<AuditResult> {
        const startedMs = performance.now()
        const timeout = AbortSignal.timeout(options.timeoutMs)
        const messages = [
          { role: 'system', content: options.instructions },
          { role: 'user', content: judgePrompt(request, answer, options.maxChars) },
        ]
        let reply: { text: string; gpuNs?: number | undefined }
        try {
          reply = await ask(messages, AbortSignal.any([signal, pluginSignal, timeout]))
        } catch (err) {
          if (signal.aborted || pluginSignal.aborted) return pass('the request was aborted', startedMs, false)
          if (timeout.aborted) return pass(`no verdict within ${options.timeoutMs} ms`, startedMs)
          return pass(sanitizeReason(messageOf(err)), startedMs)
        }
        const verdict = parseScore(reply.text)
        if (!verdict) return pass(`unparseable reply '${sanitizeReason(reply.text, 40)}'`, startedMs)
        if (failing) log.info('judge answers again', { model })
        failing = false
        const gpuSeconds = reply.gpuNs === undefined ? (performance.now() - startedMs) / 1000 : reply.gpuNs / 1e9
        const reason = verdict.reason === '' ? '' : `: ${verdict.reason}`
        return { score: verdict.score, reasons: [`${model} scored ${verdict.outOfTen}/10${reason}`], gpuSeconds }
      },
    }
  },
})
