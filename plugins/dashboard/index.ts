/** Telemetry plugin `dashboard`: recent routing decisions, aggregates (per model, class and team) and GPU savings, served as a live page at /dashboard. */
import * as v from 'valibot'
import { definePlugin, isCacheHit } from 'switchyard/plugin'
import type { PluginRoute } from 'switchyard/plugin'
import { createAggregates } from './aggregates.ts'
import { createDecisionLog, isFailed } from './decisions.ts'
import { createFeed } from './feed.ts'
import { createSavings } from './savings.ts'
import { createTeamAggregates } from './teams.ts'
import { CLIENT_JS } from './client.ts'
import { FEEDBACK_JS } from './client-feedback.ts'
import { HISTORY_JS } from './client-history.ts'
import { SAVINGS_JS } from './client-savings.ts'
import { TEAMS_JS } from './client-teams.ts'
import { renderPage } from './page.ts'
import { STYLE_CSS } from './style.ts'

const Ms = v.pipe(v.number(), v.integer(), v.minValue(100))

export default definePlugin({
  name: 'dashboard',
  kind: 'telemetry',
  options: v.strictObject({
    /** Decisions kept for the live feed. */
    maxDecisions: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10_000)), 200),
    /** Window the per-model, per-class and per-team aggregates cover. */
    windowMs: v.optional(Ms, 300_000),
    /** Sparkline points per window. */
    buckets: v.optional(v.pipe(v.number(), v.integer(), v.minValue(2), v.maxValue(300)), 30),
    /** How often open SSE streams get an aggregate snapshot. */
    statsIntervalMs: v.optional(Ms, 2_000),
    /** How often the page polls `/health` for backend and GPU tiles. */
    healthIntervalMs: v.optional(Ms, 3_000),
    /** An SSE stream ends after this long; the browser reconnects and gets a fresh snapshot. */
    maxStreamMs: v.optional(Ms, 60_000),
  }),
  setup({ options, keep, gateway }) {
    // Decisions, aggregates and totals carry on across config reloads that keep their sizes.
    const { startedAtMs, decisions, aggregates, teams, totals } = keep(`history ${options.maxDecisions} ${options.windowMs} ${options.buckets}`, () => {
      const startedAtMs = Date.now()
      return {
        startedAtMs,
        decisions: createDecisionLog(options.maxDecisions),
        aggregates: createAggregates(options.windowMs, options.buckets, startedAtMs),
        teams: createTeamAggregates(options.windowMs, options.buckets, startedAtMs),
        totals: { requests: 0, errors: 0, cacheHits: 0 },
      }
    })
    // GPU savings depend on no option: any reload keeps them (money is priced at the current costPerGpuHour).
    const savings = keep('savings', createSavings)

    const stats = () => {
      const now = Date.now()
      return {
        now, windowMs: options.windowMs, bucketMs: options.windowMs / options.buckets, totals: { ...totals },
        models: aggregates.rows('model', now), classes: aggregates.rows('class', now), teams: teams.rows(now),
        savings: savings.summary(now, gateway.costPerGpuHour),
      }
    }
    const snapshot = () => ({ ...stats(), startedAtMs, healthIntervalMs: options.healthIntervalMs, decisions: decisions.recent() })
    const feed = createFeed({ snapshot, stats, statsIntervalMs: options.statsIntervalMs, maxStreamMs: options.maxStreamMs })

    const page = renderPage()
    const script = CLIENT_JS + FEEDBACK_JS + HISTORY_JS + SAVINGS_JS + TEAMS_JS
    const text = (body: string, type: string, status = 200) =>
      new Response(body, { status, headers: { 'content-type': `${type}; charset=utf-8`, 'cache-control': 'no-cache' } })
    // The page and its assets are public; data (state, events, /health details, explain, and the core's history and
    // feedback endpoints the page calls) needs the admin key when one is set, which the page asks for once and keeps in
    // a same-site cookie (EventSource cannot send headers; same-origin fetches send the cookie too).
    const routes: PluginRoute[] = [
      { method: 'GET', path: '/dashboard', public: true, handle: () => text(page, 'text/html') },
      { method: 'GET', path: '/dashboard/', public: true, handle: () => text(page, 'text/html') },
      { method: 'GET', path: '/dashboard/app.js', public: true, handle: () => text(script, 'text/javascript') },
      { method: 'GET', path: '/dashboard/app.css', public: true, handle: () => text(STYLE_CSS, 'text/css') },
      {
        method: 'GET',
        path: '/dashboard/*',
        handle(req) {
          const path = new URL(req.url).pathname
          if (path === '/dashboard/events') return feed.open(req.signal)
          if (path === '/dashboard/state') return Response.json(snapshot(), { headers: { 'cache-control': 'no-store' } })
          if (path === '/dashboard/savings') return Response.json(savings.summary(Date.now(), gateway.costPerGpuHour), { headers: { 'cache-control': 'no-store' } })
          return text(`no such dashboard file: ${path}`, 'text/plain', 404)
        },
      },
    ]

    return {
      routes,
      observe(event) {
        const d = decisions.observe(event)
        if (!d) return
        totals.requests++
        if (isFailed(d)) totals.errors++
        if (isCacheHit(d.cache)) totals.cacheHits++
        aggregates.add(d)
        teams.add(d)
        savings.add(event)
        feed.publish('decision', d)
      },
      close: () => feed.close(),
    }
  },
})
