/** Cascade classifier: cheap classifiers first, escalating to the next stage only while confidence is too low. */
import * as v from 'valibot'
import { definePlugin, importCurrent, isPluginPath } from 'switchyard/plugin'
import type { Classification, ChatRequest, PluginContext, PluginDefinition, PluginInstance, RetrainInput } from 'switchyard/plugin'
import embeddingClassifier from '../embedding-classifier/index.ts'
import heuristicClassifier from '../heuristic-classifier/index.ts'
import keywordClassifier from '../keyword-classifier/index.ts'
import learnedClassifier from '../learned-classifier/index.ts'
import llmClassifier from '../llm-classifier/index.ts'

const STAGE_DEFINITIONS: readonly PluginDefinition[] = [keywordClassifier, heuristicClassifier, learnedClassifier, embeddingClassifier, llmClassifier]

const Stage = v.strictObject({
  /** A built-in classifier name, or a path (./, ../, /) relative to the config file whose default export is one. */
  use: v.pipe(v.string(), v.minLength(1)),
  options: v.optional(v.unknown()),
  /** Confidence at or above which this stage decides; below it the next stage runs. */
  minConfidence: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1)), 0.6),
})

interface ReadyStage {
  readonly name: string
  readonly minConfidence: number
  readonly instance: PluginInstance<'classifier'>
}

/** Find a stage's definition: a built-in name or a module path whose default export is a classifier definition. */
async function resolveStage(use: string, index: number, baseDir: string): Promise<PluginDefinition> {
  const builtin = STAGE_DEFINITIONS.find((d) => d.name === use)
  if (builtin) return builtin
  if (!isPluginPath(use)) {
    throw new Error(`cascade-classifier: stages[${index}].use "${use}" is not a built-in classifier (${STAGE_DEFINITIONS.map((d) => d.name).join(', ')}) or a path`)
  }
  const path = use.startsWith('/') ? use : Bun.fileURLToPath(new URL(use, Bun.pathToFileURL(`${baseDir.replace(/\/$/, '')}/`)))
  const mod = (await importCurrent(path)) as { default?: PluginDefinition }
  if (!mod.default || mod.default.kind !== 'classifier') throw new Error(`cascade-classifier: stages[${index}].use "${use}" does not export a classifier definition`)
  return mod.default
}

export default definePlugin({
  name: 'cascade-classifier',
  kind: 'classifier',
  options: v.strictObject({
    stages: v.optional(v.pipe(v.array(Stage), v.minLength(1))),
    /** Options for an embedding-classifier stage appended to the default stages (learned, then embedding). */
    embedding: v.optional(v.record(v.string(), v.unknown())),
  }),
  setup: async (ctx) => {
    const stages = ctx.options.stages ?? [
      { use: 'learned-classifier', options: undefined, minConfidence: 0.6 },
      ...(ctx.options.embedding ? [{ use: 'embedding-classifier', options: ctx.options.embedding, minConfidence: 0 }] : []),
    ]
    // Validate every stage before setting any up, so one bad stage reports without side effects.
    const planned: { def: PluginDefinition; options: unknown; minConfidence: number }[] = []
    for (const [i, stage] of stages.entries()) {
      const def = await resolveStage(stage.use, i, ctx.baseDir)
      const parsed = v.safeParse(def.options, stage.options ?? {})
      if (!parsed.success) {
        const issues = parsed.issues.map((x) => `stages[${i}].options${v.getDotPath(x) ? `.${v.getDotPath(x)}` : ''}: ${x.message}`)
        throw new Error(`cascade-classifier: ${issues.join('; ')}`)
      }
      planned.push({ def, options: parsed.output, minConfidence: stage.minConfidence })
    }
    const ready: ReadyStage[] = []
    const closeAll = async () => {
      for (const s of [...ready].reverse()) await s.instance.close?.()
    }
    try {
      for (const [i, p] of planned.entries()) {
        // Each stage keeps state under its own position, so two stages' keys never meet.
        const keep = <T>(key: string, create: () => T) => ctx.keep(`stage ${i} ${p.def.name}: ${key}`, create)
        const stageCtx: PluginContext<unknown> = { ...ctx, name: p.def.name, options: p.options, keep }
        const instance = (await p.def.setup(stageCtx)) as PluginInstance<'classifier'>
        ready.push({ name: p.def.name, minConfidence: p.minConfidence, instance })
      }
    } catch (err) {
      await closeAll()
      throw err
    }

    // Retraining, versions and rollback belong to the first stage that learns (the learned classifier by default).
    const learner = ready.find((s) => s.instance.retrain)?.instance
    return {
      async classify(req: ChatRequest, signal: AbortSignal): Promise<Classification> {
        const trail: string[] = []
        let features: Classification['features']
        let best: { stage: ReadyStage; out: Classification } | undefined
        for (const [i, stage] of ready.entries()) {
          let out: Classification
          try {
            out = await stage.instance.classify(req, signal)
          } catch (err) {
            if (signal.aborted) throw err
            ctx.log.warn('cascade stage failed', { stage: stage.name, error: String(err) })
            trail.push(`${stage.name} failed`)
            continue
          }
          // A stage that ran may not decide, but its features still describe the request for a retrain.
          if (stage.instance === learner && out.features) features = out.features
          const last = i === ready.length - 1
          if (out.confidence >= stage.minConfidence || last) {
            if (!best || out.confidence >= stage.minConfidence || out.confidence >= best.out.confidence) best = { stage, out }
            break
          }
          trail.push(`${stage.name} ${out.label} ${out.confidence.toFixed(2)} < ${stage.minConfidence}`)
          if (!best || out.confidence > best.out.confidence) best = { stage, out }
        }
        if (!best) throw new Error(`cascade-classifier: every stage failed (${trail.join(', ')})`)
        const { stage, out } = best
        return {
          ...out,
          ...(features && !out.features ? { features, version: learner?.version?.() } : {}),
          reasons: [`decided by ${stage.name}`, ...trail, ...out.reasons].slice(0, 8),
          classifier: `${ctx.name}/${out.classifier ?? stage.name}`,
        }
      },
      ...(learner?.retrain ? { retrain: (input: RetrainInput) => learner.retrain!(input) } : {}),
      ...(learner?.rollback ? { rollback: (dir: string) => learner.rollback!(dir) } : {}),
      ...(learner?.version ? { version: () => learner.version!() } : {}),
      close: closeAll,
    }
  },
})
