/** EWMA behaviour for latency and TTFT averages. */
import { describe, expect, test } from 'bun:test'
import { createEwma } from '../../src/health/ewma.ts'

describe('createEwma', () => {
  test('has no value until the first sample, which it takes as is', () => {
    const e = createEwma({ alpha: 0.2 })
    expect(e.value()).toBeUndefined()
    expect(e.update(100)).toBe(100)
    expect(e.value()).toBe(100)
  })

  test('moves toward new samples by alpha', () => {
    const e = createEwma({ alpha: 0.5 })
    e.update(100)
    expect(e.update(200)).toBe(150)
    expect(e.update(150)).toBe(150)
  })

  test('a half-life of n samples halves the weight of the old value after n samples', () => {
    const e = createEwma({ halfLife: 4 })
    e.update(0)
    for (let i = 0; i < 4; i++) e.update(100)
    expect(e.value()).toBeCloseTo(50, 10)
  })

  test('a time half-life weights samples by the time between them', () => {
    let t = 0
    const e = createEwma({ halfLifeMs: 1_000, now: () => t })
    e.update(0)
    t += 1_000
    expect(e.update(100)).toBeCloseTo(50, 10)
    t += 3_000
    expect(e.update(0)).toBeCloseTo(50 / 8, 10)
  })

  test('ignores non-finite samples', () => {
    const e = createEwma({ alpha: 0.3 })
    e.update(10)
    e.update(Number.NaN)
    e.update(Number.POSITIVE_INFINITY)
    expect(e.value()).toBe(10)
  })

  test('reset forgets the average', () => {
    const e = createEwma({ alpha: 0.3 })
    e.update(10)
    e.reset()
    expect(e.value()).toBeUndefined()
    expect(e.update(40)).toBe(40)
  })

  test('rejects an alpha outside (0, 1]', () => {
    expect(() => createEwma({ alpha: 0 })).toThrow(RangeError)
    expect(() => createEwma({ alpha: 1.5 })).toThrow(RangeError)
  })
})
