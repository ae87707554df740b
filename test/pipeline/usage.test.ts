/** Token counts and finish reasons read from the end of real-shaped Ollama and OpenAI answers. */
import { describe, expect, test } from 'bun:test'
import { usageFromTail } from '../../src/pipeline/relay.ts'

describe('usageFromTail', () => {
  test("Ollama's done line", () => {
    const tail = '{"model":"m","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","total_duration":5,"prompt_eval_count":26,"eval_count":290}\n'
    expect(usageFromTail(tail)).toEqual({ inputTokens: 26, outputTokens: 290, finishReason: 'stop' })
  })

  test("an OpenAI stream's last chunks: the reason before a usage chunk, nulls after it are skipped", () => {
    const tail = [
      'data: {"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}',
      'data: {"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}',
      'data: {"choices":[],"usage":{"prompt_tokens": 12, "completion_tokens": 40, "total_tokens": 52}}',
      'data: {"choices":[{"index":0,"delta":{},"finish_reason":null}]}',
      'data: [DONE]',
    ].join('\n\n')
    expect(usageFromTail(tail)).toEqual({ inputTokens: 12, outputTokens: 40, finishReason: 'length' })
  })

  test('a whole OpenAI answer, and text with none of it', () => {
    const answer = JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content: 'hi "finish_reason"' }, finish_reason: 'tool_calls' }], usage: { prompt_tokens: 3, completion_tokens: 1 } })
    expect(usageFromTail(answer)).toEqual({ inputTokens: 3, outputTokens: 1, finishReason: 'tool_calls' })
    expect(usageFromTail('no usage here')).toEqual({ inputTokens: undefined, outputTokens: undefined, finishReason: undefined })
  })
})
