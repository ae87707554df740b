/** Conversation features of the learned classifier: what earlier turns add, the length cap, and weights from before them. */
import { describe, expect, test } from 'bun:test'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as v from 'valibot'
import type { ChatRequest, Logger } from 'switchyard/plugin'
import { keepNothing } from 'switchyard/plugin'
import { DENSE_FEATURE_NAMES, extractFeatures } from '../../plugins/heuristic-classifier/features.ts'
import learnedClassifier, { DEFAULT_WEIGHTS_PATH } from '../../plugins/learned-classifier/index.ts'
import { createFeaturizer, DEFAULT_FEATURE_SPEC } from '../../plugins/learned-classifier/featurize.ts'
import { decodeModel } from '../../plugins/learned-classifier/model.ts'
import { weightsId } from '../../plugins/learned-classifier/versions.ts'

type Turn = [role: string, content: string]
const request = (turns: readonly Turn[], tools?: number): ChatRequest => ({
  protocol: 'openai', operation: 'chat', model: 'auto', stream: false, body: {},
  messages: turns.map(([role, content]) => ({ role, content })), ...(tools !== undefined && { tools }),
})
const lastOnly = (req: ChatRequest): ChatRequest => request([['user', req.messages.at(-1)!.content]])

const DESIGN: Turn[] = [
  ['system', 'You are a senior engineer on the payments team. Answer with code where it helps.'],
  ['user', 'Split the ledger in src/ledger/post.ts and src/ledger/balance.ts into services, and keep app/models.py in sync:\n```python\ndef post(entry):\n    db.insert(entry)\n```'],
  ['assistant', 'Plan: move posting behind an interface.\n```ts\nexport interface Ledger {\n  post(e: Entry): Promise<void>\n}\n```'],
  ['user', 'thanks, now add a test'],
]

const denseOf = (req: ChatRequest) => {
  const { dense } = createFeaturizer()(req)
  return Object.fromEntries(DENSE_FEATURE_NAMES.map((name, i) => [name, dense[i]!]))
}

describe('conversation features', () => {
  test('earlier turns add code languages, files, tool definitions and the system prompt to a short follow-up', () => {
    const whole = extractFeatures(request(DESIGN, 6))
    const last = extractFeatures(lastOnly(request(DESIGN, 6)))
    expect(whole.languages).toEqual(['python', 'typescript'])
    expect(last.languages).toEqual([])
    expect(whole.filePaths).toBe(3)
    expect(whole.fileExtensions).toEqual(['ts', 'py'])
    expect(last.filePaths).toBe(0)
    expect(whole.tools).toBe(6)
    expect(last.tools).toBe(0)
    expect(whole.hasSystem).toBe(true)
    expect(whole.systemTokens).toBeGreaterThan(10)
    expect(whole.contextTokens).toBeGreaterThan(40)
    expect(whole.contextIntent.restructure + whole.contextIntent.design).toBeGreaterThan(0)
    // What the last message itself says is read from the last message alone.
    expect(whole.promptTokens).toBe(last.promptTokens)
    expect(whole.intent).toEqual(last.intent)
  })

  test('the dense vector differs from the last message alone exactly in the conversation features and the totals', () => {
    const whole = denseOf(request(DESIGN, 6))
    const last = denseOf(lastOnly(request(DESIGN, 6)))
    const changed: string[] = DENSE_FEATURE_NAMES.filter((n) => whole[n] !== last[n])
    for (const name of ['code-languages', 'code-lines', 'file-paths', 'tools', 'system', 'system-tokens', 'log-context-tokens', 'depth', 'log-tokens']) {
      expect(changed).toContain(name)
    }
    for (const name of ['log-prompt-tokens', 'question', 'imperatives', 'intent-edit', 'intent-implement']) expect(changed).not.toContain(name)
  })

  test('unfenced code counts as a language only from two lines with its signatures', () => {
    const python = extractFeatures(request([['user', 'why does this fail?\nimport os\ndef load(path):\n    return open(path).read()']]))
    expect(python.unfencedLanguages).toEqual(['python'])
    const prose = extractFeatures(request([['user', 'In class: we discussed how to define a function and import data from files.']]))
    expect(prose.unfencedLanguages).toEqual([])
  })

  test('a family turned off in the spec is gone from the vector', () => {
    const full = createFeaturizer()(request(DESIGN, 6))
    const off = createFeaturizer({ ...DEFAULT_FEATURE_SPEC, off: ['tools', 'system', 'turns'] })(request(DESIGN, 6))
    const dense = (fv: { dense: readonly number[] }, name: string) => fv.dense[DENSE_FEATURE_NAMES.indexOf(name as never)]
    expect(dense(full, 'tools')).toBeGreaterThan(0)
    expect(dense(off, 'tools')).toBe(0)
    expect(dense(off, 'system')).toBe(0)
    expect(dense(off, 'log-context-tokens')).toBe(0)
    expect(off.features.languages).toEqual([])
  })
})

/** A 50-turn conversation of about 100 KB: prose and code, files, and a short last message. */
function longConversation(filler: (i: number) => string = (i) => `${'Explain each change briefly. '.repeat(60)}${i}`): Turn[] {
  const code = Array.from({ length: 40 }, (_, i) => `def step_${i}(queue, lock):\n    with lock:\n        return queue.pop()`).join('\n')
  const turns: Turn[] = [['system', 'You are a careful coding assistant. '.repeat(20)], ['user', 'Design the retry layer for src/worker.py and src/queue.ts.']]
  for (let i = 0; i < 48; i++) {
    turns.push(i % 2 ? ['user', `Now update src/scheduler_${i}.ts. ${filler(i)}`.slice(0, 2000)] : ['assistant', `Updated src/worker_${i}.py:\n\`\`\`python\n${code}\n\`\`\``.slice(0, 2000)])
  }
  turns.push(['user', 'thanks, now rename step to stage'])
  return turns
}

describe('the length cap', () => {
  const size = (turns: readonly Turn[]) => turns.reduce((n, [, c]) => n + c.length, 0)

  test('turns beyond the cap change nothing but the sizes: the same lengths give the same vector', () => {
    const a = longConversation()
    expect(a.length).toBe(51)
    expect(size(a)).toBeGreaterThan(90_000)
    // Rewrite every message the window does not read (not the system prompt, the first user message or the last 8).
    const b = a.map(([role, content], i): Turn => (i >= 2 && i < a.length - DEFAULT_FEATURE_SPEC.maxMessages ? [role, 'x'.repeat(content.length)] : [role, content]))
    expect(size(b)).toBe(size(a))
    const featurize = createFeaturizer()
    const fa = featurize(request(a))
    const fb = featurize(request(b))
    expect(Array.from(fb.index)).toEqual(Array.from(fa.index))
    expect(Array.from(fb.value)).toEqual(Array.from(fa.value))
    expect(fb.dense).toEqual(fa.dense)
  })

  test('extra turns in the middle change the totals only', () => {
    const a = longConversation()
    const middle = Array.from({ length: 20 }, (_, i): Turn => [i % 2 ? 'user' : 'assistant', `an older turn about src/other_${i}.go\n\`\`\`go\nfunc F() {}\n\`\`\``])
    const b = [...a.slice(0, 2), ...middle, ...a.slice(2)]
    const fa = extractFeatures(request(a))
    const fb = extractFeatures(request(b))
    const { tokens, contextTokens, depth, lines, ...rest } = fa
    const { tokens: tb, contextTokens: cb, depth: db, lines: lb, ...restB } = fb
    expect(restB).toEqual(rest)
    expect(tb).toBeGreaterThan(tokens)
    expect(cb).toBeGreaterThan(contextTokens)
    expect(db).toBe(depth + 20)
    expect(lb).toBeGreaterThan(lines)
    expect(fb.languages).not.toContain('go')
  })
})

describe('weights from before the conversation features', () => {
  /** The shipped weights file as an older version wrote it: the 22 dense features it had then. */
  const olderWeights = async () => {
    const json = await Bun.file(DEFAULT_WEIGHTS_PATH).json()
    return { ...json, denseFeatures: json.denseFeatures.slice(0, 22), dense: json.dense.slice(0, 66) }
  }

  test('decode fails with a message that says to retrain', async () => {
    const older = await olderWeights()
    expect(() => decodeModel(older)).toThrow(/trained for 22 dense features, this version computes \d+ \(lacks log-context-tokens.*retrain it/)
  })

  test('a stored version written before them is not served: setup warns and serves the shipped weights', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'learned-features-'))
    try {
      const base = weightsId(await Bun.file(DEFAULT_WEIGHTS_PATH).bytes(), true)
      await mkdir(join(dir, 'classifier'))
      const version = {
        format: 'switchyard-learned-version-v1', version: 'v1', base, createdAtMs: 1, temperature: 1.5, classBias: [0, 0, 0],
        memory: { answerCosine: 0.55, answerMargin: 0.05, families: [] }, trainedOn: [], weights: await olderWeights(), retrain: {},
      }
      const pointer = {
        format: 'switchyard-learned-pointer-v1', base, current: 'v1', history: [base, 'v1'],
        versions: [{ version: 'v1', file: 'learned-v1.json', createdAtMs: 1 }], next: 2, updatedAtMs: 1,
      }
      await Bun.write(join(dir, 'classifier', 'learned-v1.json'), JSON.stringify(version))
      await Bun.write(join(dir, 'classifier', 'current.json'), JSON.stringify(pointer))
      const warnings: string[] = []
      const log: Logger = { debug() {}, info() {}, warn: (msg, attrs) => void warnings.push(`${msg} ${JSON.stringify(attrs)}`), error() {} }
      const c = await learnedClassifier.setup({
        name: 'learned-classifier', options: v.parse(learnedClassifier.options, {}), signal: new AbortController().signal, log,
        gateway: { backends: [] }, baseDir: dir, stateDir: dir, keep: keepNothing,
      })
      expect(c.version?.()).toBe(base)
      expect(warnings.join('\n')).toMatch(/cannot load the promoted version; serving the shipped weights.*trained for 22 dense features/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
