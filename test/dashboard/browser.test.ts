/** The dashboard in headless Chromium: live panels, and the feedback buttons and History tab against a real gateway. */
import { describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { type Page, chromium } from 'playwright-core'
import { until } from '../support/until.ts'
import { startTwoBackends } from './setup.ts'

const CHROMIUM = '/usr/bin/chromium'
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
const OUTPUT = resolve(import.meta.dir, '../../test-output')

/** A fresh browser profile and page; `problems` collects page errors and console errors. */
async function openBrowser() {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: the browser test needs Debian's chromium (apt-get install -y chromium); no browser is downloaded`)
  const profile = mkdtempSync(join(tmpdir(), 'switchyard-chromium-'))
  const browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1400, height: 1100 } })
  const page = await browser.newPage()
  const problems: string[] = []
  page.on('pageerror', (e) => problems.push(e.message))
  page.on('console', (m) => void (m.type() === 'error' && problems.push(m.text())))
  return {
    page, problems,
    async [Symbol.asyncDispose]() {
      await browser.close()
      rmSync(profile, { recursive: true, force: true })
    },
  }
}

const feedRow = (page: Page, id: string) => page.locator(`#feed tbody tr[data-id="${id}"]`)

test('the dashboard shows backends, requests in the live feed, an escalation, aggregates, GPU savings and an explained prompt', async () => {
  await using env = await startTwoBackends({ gpus: true, escalate: true })
  await env.ask('add a docstring to this function')
  const escalatedId = (await env.ask('add a docstring to this function [fail-draft]')).headers.get('x-switchyard-request-id')!
  await using browser = await openBrowser()
  const { page, problems } = browser
  await page.goto(`${env.gw.url}/dashboard`)

  const tile = (name: string) => page.locator(`#backends [data-backend="${name}"]`)
  await tile('gpu0').getByText('up', { exact: true }).waitFor({ timeout: 3_000 })
  await tile('vllm').getByText('up', { exact: true }).waitFor({ timeout: 3_000 })
  expect(await tile('vllm').textContent()).toContain('deepseek-coder:33b')
  await page.locator('#conn[data-state="live"]').waitFor({ timeout: 3_000 })
  const gpu = page.locator('#gpus [data-gpu="0"]')
  await gpu.waitFor({ timeout: 3_000 })
  expect(await gpu.textContent()).toMatch(/A100.*59\.8 \/ 80\.0 GiB.*97%.*67 °C.*gpu0/)
  expect(await page.locator('#feed tbody tr[data-id]').count()).toBe(2)
  // The escalated answer shows its draft, its final model and the audit's score; the savings panel counts it.
  const escalated = feedRow(page, escalatedId).locator('td.model')
  expect(await escalated.textContent()).toBe('qwen2.5-coder:1.5b → qwen2.5-coder:7b escalated 0.10')
  expect(await escalated.locator('.badge.audit').getAttribute('title')).toContain('the test says this draft fails')
  expect(await page.locator('#savings tr[data-key="rate-audited"]').textContent()).toBe('escalated / audited50% (1/2)50% (1/2)')
  // No costPerGpuHour configured: no money rows.
  expect(await page.locator('#savings tr[data-key="cost-saved"]').count()).toBe(0)

  // A request sent now appears in the live feed without a reload.
  await env.ask('refactor this module and redesign the architecture of the whole service')
  const row = page.locator('#feed tbody tr[data-id]').first()
  await row.locator('td.model', { hasText: 'deepseek-coder:33b' }).waitFor({ timeout: 1_000 })
  expect(await row.locator('td.backend').textContent()).toBe('vllm')
  expect(await row.textContent()).toContain('COMPLEX')
  // Its id cell shows the end of the request id and the whole id on hover; COMPLEX cannot be too weak.
  const id = (await row.getAttribute('data-id'))!
  expect(await row.locator('td.id').getAttribute('title')).toBe(id)
  expect(id.endsWith((await row.locator('td.id').textContent())!.replace('…', ''))).toBe(true)
  expect(await row.getByRole('button', { name: 'too weak' }).isDisabled()).toBe(true)
  expect(await row.getByRole('button', { name: 'too strong' }).isEnabled()).toBe(true)

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
  await page.screenshot({ path: join(OUTPUT, 'dashboard.png'), fullPage: true })
  expect(problems).toEqual([])
}, 20_000)

// Needs the core's x-switchyard-request-id header, POST /router/feedback, GET /router/history and /health's classifier.
describe('dashboard feedback and history (needs the core endpoints)', () => {
  test('behind an admin key, "too weak" on a feed row records a correction the History tab shows', async () => {
    const key = 'browser-admin-key'
    await using env = await startTwoBackends({ adminKey: key })
    const id = (await env.ask('add a docstring to this function')).headers.get('x-switchyard-request-id')!
    expect(id).toBeTruthy()
    await using browser = await openBrowser()
    const { page, problems } = browser
    // The page asks for the admin key once and keeps it in a cookie that the feedback and history requests send too.
    page.on('dialog', (d) => void d.accept(key))
    await page.goto(`${env.gw.url}/dashboard`)

    const row = feedRow(page, id)
    await row.waitFor({ timeout: 3_000 })
    expect(await row.locator('td.id').getAttribute('title')).toBe(id)
    expect(await row.getByRole('button', { name: 'too strong' }).isDisabled()).toBe(true)
    await row.getByRole('button', { name: 'too weak' }).click()
    await row.locator('td.feedback .fb-result', { hasText: 'MODERATE' }).waitFor({ timeout: 3_000 })

    const history = async () => {
      const res = await fetch(`${env.gw.url}/router/history?limit=1000`, { headers: { authorization: `Bearer ${key}` } })
      const body = (await res.json()) as { decisions: { id: string; feedback: { label: string; source: string } | null }[] }
      return body.decisions.find((d) => d.id === id)
    }
    await until(async () => (await history())?.feedback?.label === 'MODERATE', 2_000, 'the verdict in /router/history')
    expect((await history())!.feedback).toEqual({ label: 'MODERATE', source: 'verdict' })

    // The History tab filters by class and shows the decision with its correction and the classifier from /health.
    await page.click('#tab-history')
    await page.selectOption('#history-class', 'SIMPLE')
    await page.click('#history-filters button[type=submit]')
    const historyRow = page.locator(`#history-table tbody tr[data-id="${id}"]`)
    await historyRow.locator('td.feedback', { hasText: 'MODERATE' }).waitFor({ timeout: 3_000 })
    expect(await historyRow.textContent()).toContain('qwen2.5-coder:1.5b')
    expect(await page.locator('#history-table tbody tr[data-id]').evaluateAll((rows) => rows.every((r) => r.textContent!.includes('SIMPLE')))).toBe(true)
    await page.locator('#classifier', { hasText: 'keyword-classifier' }).waitFor({ timeout: 5_000 })
    expect(page.url()).toEndWith('#history')
    await page.screenshot({ path: join(OUTPUT, 'dashboard-history.png'), fullPage: true })
    // The one 401 is the page finding out that it needs the key, before it asks for it.
    expect(problems).toEqual(['Failed to load resource: the server responded with a status of 401 (Unauthorized)'])
  }, 20_000)
})

test('the Per team panel shows each team and "none", and feed and History rows show the client key with its team as a badge, as text', async () => {
  const key = 'browser-admin-key'
  const team = '<b>ml</b>'
  const auth = { keys: [{ name: 'alice', key: 'alice-key-1234', team }, { name: 'bob', key: 'bob-key-12345' }], teams: [{ name: team }] }
  await using env = await startTwoBackends({ adminKey: key, auth })
  const aliceId = (await env.ask('add a docstring to this function', 'auto', 'alice-key-1234')).headers.get('x-switchyard-request-id')!
  await env.ask('add a docstring to this function', 'auto', 'alice-key-1234')
  const bobId = (await env.ask('write a docstring for foo', 'auto', 'bob-key-12345')).headers.get('x-switchyard-request-id')!
  await using browser = await openBrowser()
  const { page, problems } = browser
  page.on('dialog', (d) => void d.accept(key))
  await page.goto(`${env.gw.url}/dashboard`)

  const ml = page.locator('#teams tbody tr').first()
  await ml.waitFor({ timeout: 3_000 })
  // The team's name is text, not markup: no <b> element anywhere on the page.
  expect(await ml.locator('td').first().textContent()).toBe(team)
  expect(await page.locator('b').count()).toBe(0)
  const cells = await ml.locator('td').allTextContents()
  expect(cells.slice(1, 3)).toEqual(['2', '2'])
  expect(cells[4]).toEndWith('67%')
  expect(await page.locator('#teams tr[data-key="none"] td').nth(1).textContent()).toBe('1')

  const clientOf = (id: string) => feedRow(page, id).locator('td.client')
  expect(await clientOf(aliceId).textContent()).toBe(`alice${team}`)
  expect(await clientOf(aliceId).locator('.badge.team').textContent()).toBe(team)
  expect(await clientOf(bobId).textContent()).toBe('bob')

  await page.click('#tab-history')
  await page.locator(`#history-table tbody tr[data-id="${aliceId}"] td.client .badge.team`, { hasText: team }).waitFor({ timeout: 3_000 })
  expect(await page.locator(`#history-table tbody tr[data-id="${bobId}"] td.client`).textContent()).toBe('bob')
  await page.click('#tab-live')
  await page.screenshot({ path: join(OUTPUT, 'dashboard-teams.png'), fullPage: true })
  expect(problems).toEqual(['Failed to load resource: the server responded with a status of 401 (Unauthorized)'])
}, 20_000)
