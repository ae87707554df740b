/** Labelled prompt rows (routing-dev.jsonl format): reading, validation and turning a row into a request. */
import * as v from 'valibot'
import { TASK_CLASSES } from 'switchyard/plugin'
import type { ChatRequest } from 'switchyard/plugin'

export const LabelledRow = v.object({
  id: v.string(),
  /** The last user message; with `messages`, what a classifier reading only the last message would see. */
  prompt: v.string(),
  /** A whole conversation (system prompt and earlier turns included), labelled by the whole task; `prompt` is its last user message. */
  messages: v.optional(v.array(v.object({ role: v.string(), content: v.string() }))),
  /** Tool definitions the request carried (the normalized request's `tools` count). */
  tools: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
  label: v.picklist(TASK_CLASSES),
  source: v.optional(v.string(), 'unknown'),
  license: v.optional(v.string(), 'unknown'),
  task: v.optional(v.string()),
})
export type LabelledRow = v.InferOutput<typeof LabelledRow>

/**
 * Read a JSONL file of labelled rows; throws naming the line that is not one. `tick` (a retrain in the gateway) is
 * awaited between lines, so the event loop gets a turn while thousands of rows are parsed.
 */
export async function readRows(path: string, tick?: () => Promise<void> | undefined): Promise<LabelledRow[]> {
  const text = await Bun.file(path).text()
  const rows: LabelledRow[] = []
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue
    const parsed = v.safeParse(LabelledRow, JSON.parse(line))
    if (!parsed.success) throw new Error(`${path}:${i + 1}: ${parsed.issues.map((x) => x.message).join('; ')}`)
    rows.push(parsed.output)
    await tick?.()
  }
  return rows
}

/** Read every `--extra` file (flags may repeat and hold comma-separated paths), in order. */
/** The files repeated or comma-separated `--extra` flags name. */
export function extraPaths(flags: readonly string[] | undefined): string[] {
  return (flags ?? []).flatMap((f) => f.split(',')).map((p) => p.trim()).filter((p) => p !== '')
}

export async function readExtraRows(flags: readonly string[] | undefined): Promise<LabelledRow[]> {
  return (await Promise.all(extraPaths(flags).map((p) => readRows(p)))).flat()
}

/** Rows under a non-commercial license (CC-BY-NC-*), which the shipped weights can leave out. */
export const isNonCommercial = (row: Pick<LabelledRow, 'license'>) => /\bNC\b|non-?commercial/i.test(row.license)

/** The row as the gateway would hand it to a classifier: its conversation, or a single-turn request carrying its prompt. */
export function rowRequest(row: Pick<LabelledRow, 'prompt'> & Partial<Pick<LabelledRow, 'messages' | 'tools'>>): ChatRequest {
  return {
    protocol: 'openai', operation: 'chat', model: 'auto', stream: false, body: {},
    messages: row.messages ?? [{ role: 'user', content: row.prompt }],
    ...(row.tools !== undefined && { tools: row.tools }),
  }
}

/** The text near-duplicate grouping compares: a conversation's turns (not its system prompt, which many share), else the prompt. */
export const rowText = (row: Pick<LabelledRow, 'prompt'> & Partial<Pick<LabelledRow, 'messages'>>): string =>
  row.messages ? row.messages.filter((m) => m.role !== 'system').map((m) => m.content).join('\n\n') : row.prompt
