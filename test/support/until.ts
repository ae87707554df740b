/** Poll a condition until it holds (no fixed sleeps in tests). */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 3_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await Bun.sleep(10)
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}
