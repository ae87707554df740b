/** The simulator's quality model (`quality: true`): difficulty, size-dependent bad answers, their shapes, the simulated judge, abort times. */
import { describe, expect, test } from 'bun:test'
import { DEFAULT_OUTPUT_TOKENS, generateCompletion } from '../../src/sim/generate.ts'
import { difficultyOf, FAILURE_KINDS, judgeQuality, pBad, type FailureKind } from '../../src/sim/quality.ts'
import { startSimulator } from '../../src/sim/server.ts'
import { postJson, readNdjson, readSse, until, type Json } from './wire.ts'

const SMALL = 'qwen2.5-coder:1.5b'
const MEDIUM = 'qwen2.5-coder:7b'
const LARGE = 'deepseek-coder:33b'

const LANGUAGES = ['Python', 'TypeScript', 'JavaScript', 'Go', 'Rust', 'Java', 'SQL', 'Bash', 'JSON', ''] as const
const SUBJECTS = ['a CSV line', 'a log file', 'user records', 'HTTP headers', 'a config file', 'order events', 'a list of emails', 'sensor readings', 'chat messages', 'invoices']
const SYSTEMS = ['rate limiter', 'job queue', 'cache', 'chat service', 'payment ledger', 'search index', 'event bus', 'feature flag service', 'scheduler', 'file sync service']

interface TestPrompt {
  readonly prompt: string
  /** The language the prompt asks its code in ('' when it names none). */
  readonly language: string
}

/** 200 distinct prompts: 20 templates (easy edits, everyday coding, multi-part design asks) over 10 languages and subjects. */
function testPrompts(): TestPrompt[] {
  return LANGUAGES.flatMap((language, i) => {
    const subject = SUBJECTS[i] ?? 'a file'
    const system = SYSTEMS[i] ?? 'cache'
    const inLang = language ? ` in ${language}` : ''
    const adj = language ? ` ${language}` : ''
    const prompts = [
      `add a docstring to this function that reads ${subject}`,
      `rename the variable tmp to ${subject.replaceAll(' ', '_')} in this snippet`,
      `what is ${subject}?`,
      `fix the typo in this comment about ${subject}`,
      `write a simple${adj} function that returns the length of ${subject}`,
      `how do I print ${subject}${inLang}?`,
      `Write a${adj} function that parses ${subject}, skips blank entries and returns the values sorted by date.`,
      `Explain how to validate ${subject}${inLang}, and show an example with error handling.`,
      `Implement a class${inLang} that groups ${subject} by key, counts them and reports the top ten.`,
      `Refactor this code${inLang} that loads ${subject} so it is easier to test:\n\`\`\`\ndef load(path):\n    with open(path) as f:\n        return [line.strip() for line in f]\n\`\`\``,
      `Write unit tests${inLang} for a parser of ${subject}, covering empty input, bad rows and large files.`,
      `Compare two ways to store ${subject}${inLang} and say which is faster for reads.`,
      `Design a distributed, fault-tolerant ${system} for a multi-region deployment. It must be thread-safe and scalable, support per-tenant quotas, and survive network partitions. Also provide a complete implementation${inLang}, explain the consistency trade-offs, and write tests.`,
      `Optimize this concurrent ${system}${inLang}: it has a race condition and a deadlock under load. Debug it, refactor the locking to be lock-free where possible, and prove the new version is correct.\n\`\`\`\nclass Worker:\n    def run(self):\n        with self.lock:\n            self.queue.append(self.job)\n\`\`\``,
      `Write a full production-ready implementation of a ${system}${inLang} with persistence, retries, metrics and graceful shutdown. 1. Describe the architecture. 2. Give the code. 3. Explain how it scales. 4. List the failure modes.`,
      `Migrate our monolithic ${system} to microservices${inLang}: design the service boundaries, the data migration plan, the security model and the deployment pipeline, and optimize for latency.`,
      `Implement a compiler pass${inLang} that performs constant folding over ${subject} parsed into an AST, with a detailed explanation step by step and complete tests.`,
      `Write a regex that matches ${subject} and explain each part.`,
      `Convert ${subject} to uppercase${inLang}.`,
      `Give me a comprehensive overview of how a ${system} works, with examples.`,
    ]
    return prompts.map((prompt) => ({ prompt, language: language.toLowerCase() }))
  })
}

const transpiler = new Bun.Transpiler({ loader: 'ts' })
const CLOSING: Readonly<Record<string, string>> = { ')': '(', ']': '[', '}': '{' }

/** Brackets balance and every string literal ends (on its line, except triple quotes and template literals). */
function isBalanced(code: string): boolean {
  const stack: string[] = []
  for (let i = 0; i < code.length; i++) {
    const ch = code.charAt(i)
    if (code.startsWith('"""', i)) {
      const end = code.indexOf('"""', i + 3)
      if (end < 0) return false
      i = end + 2
    } else if (ch === '"' || ch === "'" || ch === '`') {
      let j = i + 1
      for (; j < code.length && code[j] !== ch; j++) {
        if (code[j] === '\\') j++
        else if (code[j] === '\n' && ch !== '`') return false
      }
      if (j >= code.length) return false
      i = j
    } else if ('([{'.includes(ch)) {
      stack.push(ch)
    } else if (CLOSING[ch] && stack.pop() !== CLOSING[ch]) {
      return false
    }
  }
  return stack.length === 0
}

/** Spaces in fours; a line ending in ':' opens exactly one level; nothing else goes deeper. */
function hasPythonIndentation(code: string): boolean {
  let previous = 0
  let opens = false
  for (const line of code.split('\n')) {
    if (line.trim() === '') continue
    const indent = line.length - line.trimStart().length
    if (line.slice(0, indent).includes('\t') || indent % 4 !== 0) return false
    if (opens ? indent !== previous + 4 : indent > previous) return false
    previous = indent
    opens = line.trimEnd().endsWith(':')
  }
  return true
}

function parses(language: string, code: string): boolean {
  try {
    if (language === 'json') JSON.parse(code)
    else if (language === 'typescript' || language === 'javascript') transpiler.transformSync(code)
    else return isBalanced(code) && (language !== 'python' || hasPythonIndentation(code))
    return true
  } catch {
    return false
  }
}

function codeBlock(text: string): { language: string; code: string } | undefined {
  const match = /```(\w+)\n([\s\S]*?)\n```/.exec(text)
  return match ? { language: match[1] ?? '', code: match[2] ?? '' } : undefined
}

const REFUSAL = /I'm sorry|I apologize|as an AI language model|I can't|I cannot|I am unable/i
const REPEATED_PHRASE = /(.{8,}?)\1{4,}/s

interface Answer {
  readonly prompt: TestPrompt
  readonly text: string
  readonly finishReason: string
  readonly quality: string
}

async function askOpenAI(url: string, model: string, prompt: TestPrompt): Promise<Answer> {
  const res = await postJson(`${url}/v1/chat/completions`, { model, messages: [{ role: 'user', content: prompt.prompt }] })
  const body = (await res.json()) as Json
  return { prompt, text: body.choices[0].message.content, finishReason: body.choices[0].finish_reason, quality: res.headers.get('x-sim-quality') ?? '' }
}

async function askAll(url: string, model: string, prompts: readonly TestPrompt[]): Promise<Answer[]> {
  const answers: Answer[] = []
  for (let i = 0; i < prompts.length; i += 25) {
    answers.push(...(await Promise.all(prompts.slice(i, i + 25).map((p) => askOpenAI(url, model, p)))))
  }
  return answers
}

const badShare = (answers: readonly Answer[]) => answers.filter((a) => a.quality.startsWith('bad:')).length / answers.length

describe('difficulty and pBad', () => {
  test('a docstring request is easier than a multi-part distributed-system design', () => {
    const easy = difficultyOf('add a docstring to this function')
    const hard = difficultyOf(
      'Design a distributed, fault-tolerant job scheduler for a multi-region cluster. It must be thread-safe and scalable, ' +
        'handle leader election and retries, and survive network partitions. Also give a complete implementation in Go and explain the trade-offs.',
    )
    expect(easy).toBeGreaterThanOrEqual(0)
    expect(hard).toBeLessThanOrEqual(1)
    expect(easy).toBeLessThan(0.15)
    expect(hard).toBeGreaterThan(0.5)
  })

  test('pBad grows with difficulty and shrinks with model size', () => {
    for (const billions of [0.5, 1.5, 7, 33, 70]) {
      for (let tenths = 0; tenths < 10; tenths++) expect(pBad((tenths + 1) / 10, billions)).toBeGreaterThan(pBad(tenths / 10, billions))
    }
    for (let d = 0; d <= 1; d += 0.25) {
      expect(pBad(d, 1.5)).toBeGreaterThan(pBad(d, 7))
      expect(pBad(d, 7)).toBeGreaterThan(pBad(d, 33))
    }
  })
})

describe('quality answers', () => {
  test('the same prompt and model give the same text twice, with the verdict judgeQuality gives', async () => {
    await using sim = startSimulator({ quality: true, instant: true })
    for (const prompt of testPrompts().filter((_, i) => i % 10 === 0)) {
      const first = await askOpenAI(sim.url, SMALL, prompt)
      const second = await askOpenAI(sim.url, SMALL, prompt)
      expect(second.text).toBe(first.text)
      const verdict = judgeQuality(SMALL, prompt.prompt)
      expect(first.quality).toBe(verdict.good ? 'good' : `bad:${verdict.kind}`)
    }
  })

  test('smaller models answer badly more often, and the small one fails in every way', async () => {
    await using sim = startSimulator({ quality: true, instant: true })
    const prompts = testPrompts()
    expect(new Set(prompts.map((p) => p.prompt)).size).toBe(200)
    const small = await askAll(sim.url, SMALL, prompts)
    const medium = await askAll(sim.url, MEDIUM, prompts)
    const large = await askAll(sim.url, LARGE, prompts)
    expect(badShare(small)).toBeGreaterThan(badShare(medium))
    expect(badShare(medium)).toBeGreaterThan(badShare(large))
    expect(badShare(large)).toBeLessThan(0.05)
    const kinds = new Set(small.map((a) => a.quality).filter((q) => q.startsWith('bad:')))
    expect([...kinds].sort()).toEqual(FAILURE_KINDS.map((kind) => `bad:${kind}`).sort())
  }, 15_000)

  test('each failure kind has its shape, and good code answers parse in the language asked', async () => {
    await using sim = startSimulator({ quality: true, instant: true })
    const answers = await askAll(sim.url, SMALL, testPrompts())
    const seen = new Set<FailureKind>()
    for (const answer of answers) {
      const { text, finishReason, quality } = answer
      if (quality !== 'bad:empty') expect(text.startsWith(`[${SMALL}] `)).toBe(true)
      expect(finishReason).toBe(quality === 'bad:truncated' ? 'length' : 'stop')
      const block = codeBlock(text)
      if (quality === 'good') {
        if (!block) continue
        expect(parses(block.language, block.code)).toBe(true)
        if (answer.prompt.language && answer.prompt.prompt.includes(` in ${answer.prompt.language}`)) expect(block.language).toBe(answer.prompt.language)
        continue
      }
      const kind = quality.slice('bad:'.length) as FailureKind
      seen.add(kind)
      if (kind === 'empty') expect(text.trim()).toBe('')
      if (kind === 'truncated') expect(text.trimEnd()).not.toMatch(/[.!?]$|```$/)
      if (kind === 'refusal') expect(text).toMatch(REFUSAL)
      if (kind === 'loop') expect(text).toMatch(REPEATED_PHRASE)
      if (kind === 'broken-code') {
        expect(block).toBeDefined()
        expect(text.indexOf('```')).toBeGreaterThan(`[${SMALL}] `.length)
        expect(parses(block!.language, block!.code)).toBe(false)
      }
    }
    expect(seen.size).toBe(FAILURE_KINDS.length)
  }, 15_000)

  test('a code answer is fenced in the language the prompt names', async () => {
    await using sim = startSimulator({ quality: true, instant: true })
    const named: Readonly<Record<string, string>> = {
      Python: 'python', TypeScript: 'typescript', 'Node.js': 'javascript', Go: 'go', Rust: 'rust', Java: 'java', SQL: 'sql',
      Bash: 'bash', JSON: 'json', C: 'c', 'C++': 'cpp', 'C#': 'csharp', Kotlin: 'kotlin', Swift: 'swift', Ruby: 'ruby', PHP: 'php',
    }
    for (const [name, tag] of Object.entries(named)) {
      const answer = await askOpenAI(sim.url, LARGE, { prompt: `write the word counter in ${name}, as a complete program`, language: tag })
      expect(answer.quality).toBe('good')
      expect(codeBlock(answer.text)?.language).toBe(tag)
      expect(parses(tag, codeBlock(answer.text)?.code ?? '')).toBe(true)
    }
    const untold = await askOpenAI(sim.url, LARGE, { prompt: 'write a function that counts words', language: '' })
    expect(codeBlock(untold.text)?.language).toBe('python')
    const converted = await askOpenAI(sim.url, LARGE, { prompt: 'convert this Python script to TypeScript', language: '' })
    expect(codeBlock(converted.text)?.language).toBe('typescript')
  })

  test('detailed asks get several times more lines than plain ones, short questions a sentence or two', async () => {
    await using sim = startSimulator({ quality: true, instant: true })
    const lines = async (prompt: string) => (await askOpenAI(sim.url, LARGE, { prompt, language: '' })).text.split('\n').length
    for (const language of ['Python', 'TypeScript', 'Go']) {
      const plain = await lines(`write a ${language} function that counts words`)
      const detailed = await lines(`write a complete ${language} implementation of a word counter, step by step`)
      expect(detailed).toBeGreaterThanOrEqual(plain * 2.5)
    }
    const short = await askOpenAI(sim.url, LARGE, { prompt: 'what is a mutex?', language: '' })
    expect(short.quality).toBe('good')
    expect(short.text).not.toContain('\n')
    expect(short.text.split(/[.!?](?:\s|$)/).filter((s) => s.trim()).length).toBeLessThanOrEqual(2)
  })

  test('streamed and whole answers carry the same text, in Ollama NDJSON and OpenAI SSE', async () => {
    await using sim = startSimulator({ quality: true, instant: true })
    for (const prompt of testPrompts().filter((_, i) => i % 7 === 0)) {
      const messages = [{ role: 'user', content: prompt.prompt }]
      const whole = (await (await postJson(`${sim.url}/api/chat`, { model: SMALL, messages, stream: false })).json()) as Json
      const ndjson = await postJson(`${sim.url}/api/chat`, { model: SMALL, messages })
      const quality = ndjson.headers.get('x-sim-quality')
      const frames = await readNdjson(ndjson)
      const final = frames.at(-1)
      expect(frames.map((f) => f.message.content).join('')).toBe(whole.message.content)
      expect(final.eval_count).toBe(frames.length - 1)
      expect(final.done_reason).toBe(quality === 'bad:truncated' ? 'length' : 'stop')
      const sse = await postJson(`${sim.url}/v1/chat/completions`, { model: SMALL, messages, stream: true, stream_options: { include_usage: true } })
      expect(sse.headers.get('x-sim-quality')).toBe(quality)
      const events = (await readSse(sse)).filter((e): e is Json => e !== '[DONE]')
      const text = events.map((e) => e.choices[0]?.delta?.content ?? '').join('')
      expect(text).toBe(whole.message.content)
      expect(events.at(-1).usage.completion_tokens).toBe(whole.eval_count)
    }
  })

  test("the client's token limit still cuts an answer, with reason length", async () => {
    await using sim = startSimulator({ quality: true, instant: true })
    const prompt = 'write a complete TypeScript implementation of a word counter, step by step'
    const res = await postJson(`${sim.url}/v1/chat/completions`, { model: LARGE, max_tokens: 5, messages: [{ role: 'user', content: prompt }] })
    const body = (await res.json()) as Json
    expect(body.choices[0].finish_reason).toBe('length')
    expect(body.usage.completion_tokens).toBe(5)
    expect(body.choices[0].message.content.startsWith(`[${LARGE}]`)).toBe(true)
  })

  test('without quality, answers are the plain word stream and carry no verdict', async () => {
    await using sim = startSimulator({ instant: true })
    const prompt = 'write a Python function that parses a CSV line'
    const res = await postJson(`${sim.url}/api/chat`, { model: SMALL, stream: false, messages: [{ role: 'user', content: prompt }] })
    expect(res.headers.get('x-sim-quality')).toBeNull()
    const body = (await res.json()) as Json
    expect(body.message.content).toBe(generateCompletion(SMALL, prompt, undefined, DEFAULT_OUTPUT_TOKENS).pieces.join(''))
  })
})

const rubric = (task: string, answer: string) =>
  `<task>\n${task}\n</task>\n<answer>\n${answer}\n</answer>\nRate the answer from 0 to 10. Reply with SCORE: <0-10> and one short reason.`

describe('the simulated judge', () => {
  test('scores answers the simulator gave in agreement with their verdict most of the time', async () => {
    await using sim = startSimulator({ quality: true, instant: true })
    const prompts = testPrompts().filter((_, i) => i % 20 >= 12)
    const answers = await askAll(sim.url, SMALL, prompts)
    let agree = 0
    for (const answer of answers) {
      const res = await postJson(`${sim.url}/api/chat`, {
        model: LARGE,
        stream: false,
        messages: [{ role: 'system', content: 'You grade answers.' }, { role: 'user', content: rubric(answer.prompt.prompt, answer.text) }],
      })
      const reply = ((await res.json()) as Json).message.content as string
      const match = /^SCORE: (\d+)\n\S.*$/.exec(reply)
      expect(match).not.toBeNull()
      const score = Number(match![1])
      expect(score <= 3 || score >= 7).toBe(true)
      const right = (score >= 7) === (answer.quality === 'good')
      expect(res.headers.get('x-sim-judge')).toBe(right ? 'right' : 'wrong')
      if (right) agree++
    }
    expect(answers.some((a) => a.quality !== 'good')).toBe(true)
    expect(agree / answers.length).toBeGreaterThanOrEqual(0.85)
  }, 15_000)

  test('recognizes a long answer shown clipped to its head and tail', async () => {
    await using sim = startSimulator({ quality: true, instant: true })
    const task = 'write a complete TypeScript implementation of a word counter, step by step'
    const { text, quality } = await askOpenAI(sim.url, LARGE, { prompt: task, language: '' })
    expect(text.length).toBeGreaterThan(1000)
    const clipped = `${text.slice(0, 200)}\n[... ${text.length - 400} characters left out ...]\n${text.slice(-200)}`
    const res = await postJson(`${sim.url}/v1/chat/completions`, { model: LARGE, messages: [{ role: 'user', content: rubric(`[user]\n${task}`, clipped) }] })
    const reply = ((await res.json()) as Json).choices[0].message.content as string
    const outcome = res.headers.get('x-sim-judge')
    expect(outcome === 'right' || outcome === 'wrong').toBe(true)
    expect(Number(/^SCORE: (\d+)/.exec(reply)?.[1]) >= 7).toBe((quality === 'good') === (outcome === 'right'))
  })

  test('an answer the simulator never gave scores 6', async () => {
    await using sim = startSimulator({ quality: true, instant: true })
    const res = await postJson(`${sim.url}/v1/chat/completions`, {
      model: LARGE,
      messages: [{ role: 'user', content: rubric('say hi', 'hello there, from somewhere else') }],
    })
    expect(((await res.json()) as Json).choices[0].message.content).toBe('SCORE: 6\nunknown answer')
    expect(res.headers.get('x-sim-judge')).toBe('unknown')
  })
})

describe('/sim/stats aborts', () => {
  test('records when an aborted generation started and when its client left', async () => {
    await using sim = startSimulator({ speed: 10, outputTokens: 100_000 })
    const before = Date.now()
    const controller = new AbortController()
    const res = await postJson(`${sim.url}/api/chat`, { model: SMALL, messages: [{ role: 'user', content: 'hi' }] }, { signal: controller.signal })
    await res.body!.getReader().read()
    controller.abort()
    await until(() => sim.stats().aborts.length === 1)
    const stats = (await (await fetch(`${sim.url}/sim/stats`)).json()) as Json
    const [abort] = stats.aborts
    expect(abort.model).toBe(SMALL)
    expect(abort.startedAt).toBeGreaterThanOrEqual(before)
    expect(abort.abortedAt).toBeGreaterThanOrEqual(abort.startedAt)
    expect(abort.abortedAt).toBeLessThanOrEqual(Date.now())
    await postJson(`${sim.url}/sim/stats/reset`, {})
    expect(sim.stats().aborts).toEqual([])
  })
})
