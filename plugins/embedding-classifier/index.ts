/** Embedding classifier: k nearest example utterances per class, embedded by a configured Ollama/OpenAI backend. */
import * as v from 'valibot'
import { definePlugin, lastUserText, TASK_CLASSES } from 'switchyard/plugin'
import type { Classification, TaskClass } from 'switchyard/plugin'
import { detectTask } from '../keyword-classifier/task.ts'
import { cosine, embedTexts } from 'switchyard/plugin'
import { endpointOptions, resolveEndpoint } from './endpoint.ts'
import { DEFAULT_EXAMPLES } from './examples.ts'

const exampleList = (label: TaskClass) =>
  v.optional(v.pipe(v.array(v.pipe(v.string(), v.minLength(1))), v.minLength(1)), [...DEFAULT_EXAMPLES[label]])

interface Example { readonly label: TaskClass; readonly vector: Float32Array }

export default definePlugin({
  name: 'embedding-classifier',
  kind: 'classifier',
  options: v.strictObject({
    ...endpointOptions,
    model: v.optional(v.pipe(v.string(), v.minLength(1)), 'nomic-embed-text'),
    examples: v.optional(v.strictObject({ SIMPLE: exampleList('SIMPLE'), MODERATE: exampleList('MODERATE'), COMPLEX: exampleList('COMPLEX') }), {}),
    k: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 5),
    timeoutMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 1500),
    /** Prompt embeddings kept in memory (least recently used evicted). */
    cacheSize: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), 256),
    /** Characters of the prompt that are embedded (embedding models have small windows). */
    maxChars: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 2000),
  }),
  setup: ({ name, options, gateway, signal: pluginSignal, log }) => {
    const endpoint = resolveEndpoint(name, options, gateway)
    const texts = TASK_CLASSES.flatMap((label) => options.examples[label].map((text) => ({ label, text })))
    let examples: Promise<Example[]> | undefined
    const cache = new Map<string, Float32Array>()

    const withTimeout = (signal: AbortSignal) => AbortSignal.any([signal, pluginSignal, AbortSignal.timeout(options.timeoutMs)])

    /** Example vectors, embedded once on first use; a failure is forgotten so the next request retries. */
    const exampleVectors = (signal: AbortSignal) => {
      examples ??= embedTexts(endpoint, options.model, texts.map((t) => t.text), withTimeout(signal)).then(
        (vectors) => vectors.map((vector, i) => ({ label: texts[i]!.label, vector })),
        (err: unknown) => {
          examples = undefined
          log.warn('embedding examples failed', { error: String(err) })
          throw err
        },
      )
      return examples
    }

    const embedPrompt = async (text: string, signal: AbortSignal) => {
      const hit = cache.get(text)
      if (hit) {
        cache.delete(text)
        cache.set(text, hit)
        return hit
      }
      const [vector] = await embedTexts(endpoint, options.model, [text], withTimeout(signal))
      if (!vector) throw new Error('embedding backend returned no vector')
      if (options.cacheSize > 0) {
        cache.set(text, vector)
        if (cache.size > options.cacheSize) cache.delete(cache.keys().next().value as string)
      }
      return vector
    }

    return {
      async classify(req, signal): Promise<Classification> {
        const raw = lastUserText(req) || req.messages.map((m) => m.content).join('\n')
        const text = raw.slice(0, options.maxChars)
        const [known, vector] = await Promise.all([exampleVectors(signal), embedPrompt(text, signal)])
        const neighbours = known
          .map((e) => ({ label: e.label, sim: cosine(vector, e.vector) }))
          .sort((a, b) => b.sim - a.sim)
          .slice(0, options.k)
        // Similarity-weighted vote: a softmax over the neighbours' similarities, summed per class.
        const weights = neighbours.map((n) => Math.exp(n.sim * 10))
        const total = weights.reduce((s, w) => s + w, 0) || 1
        const scores: Record<TaskClass, number> = { SIMPLE: 0, MODERATE: 0, COMPLEX: 0 }
        neighbours.forEach((n, i) => {
          scores[n.label] += weights[i]! / total
        })
        const label = TASK_CLASSES.reduce((best, c) => (scores[c] > scores[best] ? c : best), 'MODERATE' as TaskClass)
        const top = neighbours[0]
        const reasons = [`nearest ${options.k} examples: ${neighbours.filter((n) => n.label === label).length} ${label}`]
        if (top) reasons.push(`top similarity ${top.sim.toFixed(2)} (${top.label})`)
        return { label, confidence: scores[label], scores, reasons, task: detectTask(req) }
      },
      close() {
        cache.clear()
      },
    }
  },
})
