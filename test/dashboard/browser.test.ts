import { expect, test } from 'bun:test'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { chromium } from 'playwright-core'
import { startTwoBackends } from './setup.ts'

const CHROMIUM = '/usr/bin/chromium'
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
const SCREENSHOT = resolve(import.meta.dir, '../../test-output/dashboard.png')

test('the dashboard shows backends, a request in the live feed, aggregates and an explained prompt', async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: the browser test needs Debian's chromium (apt-get install -y chromium); no browser is downloaded`)
  await using env = await startTwoBackends({ gpus: true })
  await env.ask('add a docstring to this function')
  const profile = mkdtempSync(join(tmpdir(), 'switchyard-chromium-'))
  const browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1400, height: 1100 } })
  try {
    const page = await browser.newPage()
    const problems: string[] = []
    page.on('pageerror', (e) => problems.push(e.message))
    page.on('console', (m) => void (m.type() === 'error' && problems.push(m.text())))
    await page.goto(`${env.gw.url}/dashboard`)

    const tile = (name: string) => page.locator(`#backends [data-backend="${name}"]`)
    await tile('gpu0').getByText('up', { exact: true }).waitFor({ timeout: 3_000 })
    await tile('vllm').getByText('up', { exact: true }).waitFor({ timeout: 3_000 })
    expect(await tile('vllm').textContent()).toContain('deepseek-coder:33b')
    await page.locator('#conn[data-state="live"]').waitFor({ timeout: 3_000 })
    const gpu = page.locator('#gpus [data-gpu="0"]')
    await gpu.waitFor({ timeout: 3_000 })
    expect(await gpu.textContent()).toMatch(/A100.*59\.8 \/ 80\.0 GiB.*97%.*67 °C.*gpu0/)
    expect(await page.locator('#feed tbody tr[data-id]').count()).toBe(1)

    // A request sent now appears in the live feed without a reload.
    await env.ask('refactor this module and redesign the architecture of the whole service')
    const row = page.locator('#feed tbody tr[data-id]').first()
    await row.locator('td.model', { hasText: 'deepseek-coder:33b' }).waitFor({ timeout: 1_000 })
    expect(await row.locator('td.backend').textContent()).toBe('vllm')
    expect(await row.textContent()).toContain('COMPLEX')

    // Per-model and per-class panels fill from the SSE stats (snapshot on reconnect or the timer).
    await page.reload()
    await page.locator('#models tr[data-key="deepseek-coder:33b"] svg.spark').first().waitFor({ timeout: 3_000 })
    await page.locator('#classes tr[data-key="SIMPLE"]').waitFor({ timeout: 3_000 })

    await page.fill('#explain-prompt', 'write a docstring for foo')
    await page.click('#explain button[type=submit]')
    const result = page.locator('#explain-result')
    await result.locator('.model', { hasText: 'qwen2.5-coder:1.5b' }).waitFor({ timeout: 3_000 })
    expect(await result.textContent()).toContain('SIMPLE')
    expect(await result.locator('li').count()).toBeGreaterThan(0)

    await page.locator('#backends [data-backend="gpu0"]').waitFor()
    await page.screenshot({ path: SCREENSHOT, fullPage: true })
    expect(problems).toEqual([])
  } finally {
    await browser.close()
    rmSync(profile, { recursive: true, force: true })
  }
}, 20_000)
