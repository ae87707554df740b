/** Circuit breaker behaviour driven by an injected clock. */
import { describe, expect, test } from 'bun:test'
import { breakerKey, createBreaker, createBreakerMap } from '../../src/health/breaker.ts'

function clock(start = 1_000) {
  let t = start
  return { now: () => t, advance: (ms: number) => void (t += ms) }
}

describe('createBreaker', () => {
  test('stays closed and lets requests through while they succeed', () => {
    const b = createBreaker({ now: clock().now })
    for (let i = 0; i < 10; i++) {
      expect(b.canPass()).toBe(true)
      b.onSuccess()
    }
    expect(b.state()).toBe('closed')
  })

  test('opens after the default three consecutive failures and refuses requests', () => {
    const b = createBreaker({ now: clock().now })
    b.onFailure()
    b.onFailure()
    expect(b.state()).toBe('closed')
    b.onFailure()
    expect(b.state()).toBe('open')
    expect(b.canPass()).toBe(false)
  })

  test('a success in between resets the consecutive count', () => {
    const b = createBreaker({ now: clock().now, failureThreshold: 2 })
    b.onFailure()
    b.onSuccess()
    b.onFailure()
    expect(b.state()).toBe('closed')
    b.onFailure()
    expect(b.state()).toBe('open')
  })

  test('becomes half-open after the cooldown and admits only halfOpenMax trials', () => {
    const c = clock()
    const b = createBreaker({ now: c.now, failureThreshold: 1, openMs: 5_000, halfOpenMax: 2 })
    b.onFailure()
    c.advance(4_999)
    expect(b.state()).toBe('open')
    c.advance(1)
    expect(b.state()).toBe('half-open')
    expect(b.canPass()).toBe(true)
    expect(b.canPass()).toBe(true)
    expect(b.canPass()).toBe(false)
  })

  test('closes again once the half-open trials succeed', () => {
    const c = clock()
    const b = createBreaker({ now: c.now, failureThreshold: 2, openMs: 1_000, halfOpenMax: 2 })
    b.onFailure()
    b.onFailure()
    c.advance(1_000)
    b.canPass()
    b.canPass()
    b.onSuccess()
    expect(b.state()).toBe('half-open')
    b.onSuccess()
    expect(b.state()).toBe('closed')
    // Closing forgot the failure that opened it: one more does not reopen a threshold-2 circuit.
    b.onFailure()
    expect(b.state()).toBe('closed')
  })

  test('a failed trial reopens the circuit for another full cooldown', () => {
    const c = clock()
    const b = createBreaker({ now: c.now, failureThreshold: 1, openMs: 1_000 })
    b.onFailure()
    c.advance(1_000)
    expect(b.canPass()).toBe(true)
    c.advance(300)
    b.onFailure()
    expect(b.state()).toBe('open')
    c.advance(999)
    expect(b.canPass()).toBe(false)
    c.advance(1)
    expect(b.canPass()).toBe(true)
  })

  test('trial slots that never report are freed after another cooldown', () => {
    const c = clock()
    const b = createBreaker({ now: c.now, failureThreshold: 1, openMs: 1_000 })
    b.onFailure()
    c.advance(1_000)
    expect(b.canPass()).toBe(true)
    expect(b.canPass()).toBe(false)
    c.advance(1_000)
    expect(b.canPass()).toBe(true)
  })

  test('opens on a failure rate over the window even without consecutive failures', () => {
    const c = clock()
    const b = createBreaker({
      now: c.now,
      failureThreshold: Number.POSITIVE_INFINITY,
      failureRate: { threshold: 0.5, windowMs: 10_000, minRequests: 4 },
    })
    b.onFailure()
    b.onSuccess()
    b.onFailure()
    expect(b.state()).toBe('closed')
    b.onSuccess()
    b.onFailure()
    expect(b.state()).toBe('open')
  })

  test('outcomes older than the window no longer count toward the rate', () => {
    const c = clock()
    const b = createBreaker({
      now: c.now,
      failureThreshold: Number.POSITIVE_INFINITY,
      failureRate: { threshold: 0.5, windowMs: 1_000, minRequests: 3 },
    })
    b.onFailure()
    b.onFailure()
    c.advance(1_000)
    b.onSuccess()
    b.onFailure()
    // Two of the four failed, but two are outside the window: one failure in two, under minRequests.
    expect(b.state()).toBe('closed')
    b.onFailure()
    // Now three in the window, two failed.
    expect(b.state()).toBe('open')
  })

  test('reports every transition once through onChange', () => {
    const c = clock()
    const changes: string[] = []
    const b = createBreaker({ now: c.now, failureThreshold: 1, openMs: 100, onChange: (from, to) => changes.push(`${from}->${to}`) })
    b.onFailure()
    b.onFailure()
    c.advance(100)
    b.state()
    b.state()
    b.canPass()
    b.onSuccess()
    expect(changes).toEqual(['closed->open', 'open->half-open', 'half-open->closed'])
  })
})

describe('createBreakerMap', () => {
  test('keeps independent breakers per backend and per backend and model', () => {
    const map = createBreakerMap({ now: clock().now, failureThreshold: 1 })
    map.get(breakerKey('gpu-box', 'qwen2.5:7b')).onFailure()
    expect(map.get(breakerKey('gpu-box', 'qwen2.5:7b')).state()).toBe('open')
    expect(map.get(breakerKey('gpu-box')).state()).toBe('closed')
    expect(map.get(breakerKey('gpu-box', 'llama3.2:3b')).state()).toBe('closed')
    expect(map.has('gpu-box/qwen2.5:7b')).toBe(true)
    expect(map.has('other-box')).toBe(false)
  })

  test('reports transitions with the key of the breaker that moved', () => {
    const changes: string[] = []
    const map = createBreakerMap({ now: clock().now, failureThreshold: 1 }, (key, from, to) => changes.push(`${key} ${from}->${to}`))
    map.get(breakerKey('gpu-box')).onSuccess()
    map.get(breakerKey('gpu-box', 'qwen2.5:7b')).onFailure()
    expect(changes).toEqual(['gpu-box/qwen2.5:7b closed->open'])
  })
})
