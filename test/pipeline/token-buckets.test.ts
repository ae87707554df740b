/** A key's buckets on a clock the test moves: reserve while above zero, settle after, refill over a minute. */
import { describe, expect, test } from 'bun:test'
import { type Admitted, type Refusal, createLocalBuckets } from '../../src/http/rate-limit.ts'

function clock() {
  let t = 1_000_000
  return { now: () => t, advance: (ms: number) => void (t += ms) }
}

const admitted = (answer: Admitted | Refusal): Admitted => {
  if (answer.refused) throw new Error(`refused by ${answer.refused}`)
  return answer
}

describe('local key buckets', () => {
  test('admits while the token bucket is above zero, each admission holding its whole reservation', async () => {
    const { now } = clock()
    const key = createLocalBuckets(now).forKey('k', { tokensPerMinute: 100 })
    admitted(await key.admit(60))
    admitted(await key.admit(60))
    // 100 - 60 - 60 = -20: the next waits until the refill brings it above zero (20 tokens at 100/min: 12 s).
    expect(await key.admit(1)).toEqual({ refused: 'tokensPerMinute', retryAfterS: 12 })
  })

  test('settling refunds what was not used, never above the capacity', async () => {
    const { now } = clock()
    const key = createLocalBuckets(now).forKey('k', { tokensPerMinute: 100 })
    const first = admitted(await key.admit(90))
    await first.adjust(30 - 90)
    const second = admitted(await key.admit(90))
    await second.adjust(-1_000)
    // Back to 100, not above: reservations of 40 are admitted at 100, 60 and 20, and the last takes it below zero.
    admitted(await key.admit(40))
    admitted(await key.admit(40))
    admitted(await key.admit(40))
    expect((await key.admit(1)).refused).toBe('tokensPerMinute')
  })

  test('a key in debt refills over the minute', async () => {
    const { now, advance } = clock()
    const key = createLocalBuckets(now).forKey('k', { tokensPerMinute: 60 })
    const hold = admitted(await key.admit(10))
    await hold.adjust(110)
    expect(await key.admit(1)).toEqual({ refused: 'tokensPerMinute', retryAfterS: 60 })
    advance(59_000)
    expect((await key.admit(1)).refused).toBe('tokensPerMinute')
    advance(2_000)
    admitted(await key.admit(1))
  })

  test('a refusal by requestsPerMinute takes no tokens, and one by tokensPerMinute takes no request', async () => {
    const { now } = clock()
    const key = createLocalBuckets(now).forKey('k', { requestsPerMinute: 1, tokensPerMinute: 100 })
    admitted(await key.admit(150))
    expect((await key.admit(1)).refused).toBe('requestsPerMinute')
    const other = createLocalBuckets(now).forKey('k', { requestsPerMinute: 2, tokensPerMinute: 100 })
    admitted(await other.admit(150))
    expect((await other.admit(1)).refused).toBe('tokensPerMinute')
  })
})
