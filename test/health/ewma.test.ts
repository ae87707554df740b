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

  test('ignores non-finite samples', () => {
    const e = createEwma({ alpha: 0.3 })
    e.update(10)
    e.update(Number.NaN)
    e.update(Number.POSITIVE_INFINITY)
    expect(e.value()).toBe(10)
  })

  test('rejects an alpha outside (0, 1]', () => {
    expect(() => createEwma({ alpha: 0 })).toThrow(RangeError)
    expect(() => createEwma({ alpha: 1.5 })).toThrow(RangeError)
  })
})
