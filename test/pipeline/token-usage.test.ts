/** The pieces of token accounting on real-shaped upstream text: the usage strip, the stream meter, a whole answer's usage. */
import { describe, expect, test } from 'bun:test'
import { parseOllama } from '../../src/protocols/ollama/parse.ts'
import { parseOpenAI } from '../../src/protocols/openai/parse.ts'
import { createUsageStrip, cutBytes } from '../../src/protocols/openai/stream.ts'
import { answerUsage, createOutputMeter, streamUsage } from '../../src/pipeline/usage.ts'
import { estimatePromptTokens } from 'switchyard/plugin'

const openaiChat = (extra: Record<string, unknown> = {}) => parseOpenAI('chat', { model: 'm', messages: [{ role: 'user', content: 'count the tokens please' }], ...extra })
const ollamaChat = (extra: Record<string, unknown> = {}) => parseOllama('chat', { model: 'm', messages: [{ role: 'user', content: 'count the tokens please' }], ...extra })

const sse = (json: unknown) => `data: ${JSON.stringify(json)}\n\n`
const delta = (content: string) => sse({ id: 'c', choices: [{ index: 0, delta: { content }, finish_reason: null }], usage: null })

describe('createUsageStrip', () => {
  test('drops the usage-only chunk and every "usage": null, keeping the rest byte for byte', () => {
    const strip = createUsageStrip()
    const upstream = [
      delta('Hi'),
      'data: {"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}], "usage": null}\n\n',
      sse({ id: 'c', choices: [], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }),
      'data: [DONE]\n\n',
    ]
    const out = upstream.map((t) => strip.push(t)).join('') + strip.end()
    expect(out).toBe([
      sse({ id: 'c', choices: [{ index: 0, delta: { content: 'Hi' }, finish_reason: null }] }),
      'data: {"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n',
      'data: [DONE]\n\n',
    ].join(''))
  })

  test('holds an event split across chunks until its blank line, and handles CRLF framing', () => {
    const strip = createUsageStrip()
    const whole = 'data: {"choices":[{"delta":{"content":"a"}}]}\r\n\r\ndata: {"choices":[],"usage":{"prompt_tokens":1}}\r\n\r\ndata: [DONE]\r\n\r\n'
    const parts = [whole.slice(0, 10), whole.slice(10, 60), whole.slice(60, 75), whole.slice(75)]
    const out = parts.map((p) => strip.push(p)).join('') + strip.end()
    expect(out).toBe('data: {"choices":[{"delta":{"content":"a"}}]}\r\n\r\ndata: [DONE]\r\n\r\n')
  })

  test('a usage object on a chunk that has choices is taken off that chunk, not the chunk itself', () => {
    const strip = createUsageStrip()
    expect(strip.push(sse({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: 1 } }))).toBe(sse({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }))
  })

  test('a usage chunk that arrives with the rest of the stream is cut out of its bytes, multi-byte text and all', () => {
    const strip = createUsageStrip()
    const text = delta('naïve café ✓').replace(',"usage":null', '') + sse({ id: 'c', choices: [], usage: { prompt_tokens: 3 } }) + 'data: [DONE]\n\n'
    const bytes = new TextEncoder().encode(text)
    const out = strip.push(text)
    expect(out).toBe(delta('naïve café ✓').replace(',"usage":null', '') + 'data: [DONE]\n\n')
    expect(strip.lastCut()).toBeDefined()
    expect(new TextDecoder().decode(cutBytes(bytes, strip.lastCut()!))).toBe(out)
  })

  test('content that mentions usage is text, not a field', () => {
    const strip = createUsageStrip()
    const frame = delta('the "usage": null field')
    expect(strip.push(frame)).toBe(frame.replace(',"usage":null', ''))
  })
})

describe('createOutputMeter', () => {
  test('one token per frame with text, split frames joined, empty and bookkeeping frames skipped', () => {
    const meter = createOutputMeter(openaiChat(), true)
    const text = [
      sse({ choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] }),
      delta('Hel'), delta('lo'), delta(' "quoted\\" text'),
      sse({ choices: [{ index: 0, delta: { reasoning: 'hmm' } }] }),
      sse({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"a"' } }] } }] }),
      sse({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
      'data: [DONE]\n\n',
    ].join('')
    for (let i = 0; i < text.length; i += 7) meter.push(text.slice(i, i + 7))
    expect(meter.tokens()).toBe(5)
  })

  test('a frame holding more text than one token (a batching upstream) counts 4 characters per token', () => {
    const meter = createOutputMeter(openaiChat(), true)
    meter.push(delta('x'.repeat(100)))
    expect(meter.tokens()).toBe(25)
  })

  test("Ollama's lines: message content for chat, response for generate, thinking too", () => {
    const chat = createOutputMeter(ollamaChat(), false)
    chat.push('{"model":"m","message":{"role":"assistant","content":"a"},"done":false}\n{"model":"m","message":{"role":"assistant","content":"","thinking":"b"},"done":false}\n{"model":"m","message":{"role":"assistant","content":""},"done":true}\n')
    expect(chat.tokens()).toBe(2)
    const generate = createOutputMeter(parseOllama('generate', { model: 'm', prompt: 'p' }), false)
    generate.push('{"model":"m","response":"a","done":false}\n{"model":"m","response":" b","done":false}\n{"model":"m","response":"","done":true}\n')
    expect(generate.tokens()).toBe(2)
  })

  test('a last frame cut before its newline still counts', () => {
    const meter = createOutputMeter(ollamaChat(), false)
    meter.push('{"model":"m","message":{"role":"assistant","content":"a"},"done":false}\n{"model":"m","message":{"role":"assistant","content":"b"')
    expect(meter.tokens()).toBe(2)
  })
})

describe('answerUsage and streamUsage', () => {
  test("reported counts win and are not estimates; Ollama's and OpenAI's shapes", () => {
    expect(answerUsage(openaiChat(), JSON.stringify({ choices: [{ message: { content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 9, completion_tokens: 2 } })))
      .toEqual({ inputTokens: 9, outputTokens: 2, tokensEstimated: false, finishReason: 'stop' })
    expect(answerUsage(ollamaChat(), '{"message":{"content":"hi"},"done":true,"done_reason":"length","prompt_eval_count":9,"eval_count":2}'))
      .toEqual({ inputTokens: 9, outputTokens: 2, tokensEstimated: false, finishReason: 'length' })
  })

  test('a usage block at the front of a long answer is found by parsing it', () => {
    const long = 'word '.repeat(1000)
    expect(answerUsage(openaiChat(), JSON.stringify({ usage: { prompt_tokens: 9, completion_tokens: 1000 }, choices: [{ message: { content: long } }] })))
      .toMatchObject({ inputTokens: 9, outputTokens: 1000, tokensEstimated: false })
  })

  test('missing or negative figures are estimated: the prompt and the answer at 4 characters per token', () => {
    const request = openaiChat()
    expect(estimatePromptTokens(request)).toBe(6)
    expect(answerUsage(request, JSON.stringify({ choices: [{ message: { content: 'x'.repeat(41) } }] }))).toMatchObject({ inputTokens: 6, outputTokens: 11, tokensEstimated: true })
    expect(answerUsage(request, JSON.stringify({ choices: [{ message: { content: 'abcd' } }], usage: { prompt_tokens: -1, completion_tokens: -1 } }))).toMatchObject({ inputTokens: 6, outputTokens: 1, tokensEstimated: true })
  })

  test('embeddings have input tokens only', () => {
    const request = parseOpenAI('embed', { model: 'e', input: 'some text' })
    expect(answerUsage(request, '{"data":[{"embedding":[0.1],"index":0}],"usage":{"prompt_tokens":2,"total_tokens":2}}')).toMatchObject({ inputTokens: 2, outputTokens: 0, tokensEstimated: false })
  })

  test('a stream whose tail has no usage is charged its frames and its estimated prompt', () => {
    const meter = createOutputMeter(ollamaChat(), false)
    meter.push('{"message":{"content":"a"},"done":false}\n{"message":{"content":"b"},"done":false}\n')
    expect(streamUsage(ollamaChat(), '{"message":{"content":"b"},"done":false}\n', meter)).toEqual({ inputTokens: 6, outputTokens: 2, tokensEstimated: true, finishReason: undefined })
  })
})
