/** Model specs from names, keep_alive parsing, size-driven latency, and shared cold starts. */
import { describe, expect, test } from 'bun:test'
import { createModelLatency } from '../../src/sim/latency.ts'
import { createModelSpec, parseKeepAlive } from '../../src/sim/models.ts'
import { startSimulator } from '../../src/sim/server.ts'
import { postJson, type Json } from './wire.ts'

describe('createModelSpec', () => {
  test('reads the parameter size from the tag and the family from the name', () => {
    const cases = [
      ['qwen2.5-coder:1.5b', '1.5B', 'qwen2'],
      ['qwen2.5-coder:7b', '7B', 'qwen2'],
      ['llama3.2:3b', '3B', 'llama'],
      ['deepseek-coder:33b', '33B', 'llama'],
      ['gemma3:270m', '270M', 'gemma'],
      ['mistral:7b-instruct-q4_K_M', '7B', 'llama'],
      ['someorg/custom-model:latest', '7B', 'custom'],
    ] as const
    for (const [name, size, family] of cases) {
      expect(createModelSpec(name)).toMatchObject({ name, parameterSize: size, family })
    }
    expect(createModelSpec('qwen2.5-coder:1.5b').parameterCount).toBe(1.5e9)
  })

  test('names containing "embed" are embedding models', () => {
    expect(createModelSpec('nomic-embed-text').capabilities).toEqual(['embedding'])
    expect(createModelSpec('llama3.2:3b').capabilities).toContain('completion')
  })
})

describe('parseKeepAlive', () => {
  test('takes seconds, Go durations, negatives as forever and 0 as now', () => {
    expect(parseKeepAlive(undefined)).toBeUndefined()
    expect(parseKeepAlive(30)).toBe(30_000)
    expect(parseKeepAlive('10m')).toBe(600_000)
    expect(parseKeepAlive('30s')).toBe(30_000)
    expect(parseKeepAlive('1h30m')).toBe(5_400_000)
    expect(parseKeepAlive('250ms')).toBe(250)
    expect(parseKeepAlive('3600')).toBe(3_600_000)
    expect(parseKeepAlive(-1)).toBe(Infinity)
    expect(parseKeepAlive('-1m')).toBe(Infinity)
    expect(parseKeepAlive(0)).toBe(0)
    expect(parseKeepAlive('0')).toBe(0)
    expect(parseKeepAlive('soon')).toBeUndefined()
  })
})

describe('latency', () => {
  test('bigger models load slower and generate fewer tokens per second', () => {
    const [small, medium, large] = ['x:1.5b', 'x:7b', 'x:33b'].map((name) => createModelLatency(createModelSpec(name)))
    expect([small!.loadMs, medium!.loadMs, large!.loadMs]).toEqual([300, 1500, 6000])
    expect(1000 / small!.perTokenMs).toBeCloseTo(150, 5)
    expect(1000 / medium!.perTokenMs).toBeCloseTo(60, 5)
    expect(1000 / large!.perTokenMs).toBeCloseTo(15, 5)
    expect(large!.promptMs(100)).toBeGreaterThan(small!.promptMs(100))
  })

  test('requests arriving while a model loads wait for that one load', async () => {
    await using sim = startSimulator({ speed: 20 })
    const ask = () =>
      postJson(`${sim.url}/api/generate`, { model: 'qwen2.5-coder:1.5b', prompt: 'hi', stream: false, options: { num_predict: 1 } })
        .then((r) => r.json() as Promise<Json>)
    const [first, second] = await Promise.all([ask(), ask()])
    expect(first.load_duration).toBe(300e6)
    expect(second.load_duration).toBe(300e6)
    const warm = await ask()
    expect(warm.load_duration).toBeLessThan(10e6)
  })
})
