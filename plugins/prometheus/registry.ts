/** A small Prometheus registry: counters, gauges and histograms with fixed label names, rendered as text format 0.0.4. */

export type Labels = Readonly<Record<string, string>>

interface Metric {
  readonly name: string
  render(out: string[]): void
}

const escapeLabel = (value: string) => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
const escapeHelp = (text: string) => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Infinity) return '+Inf'
  if (value === -Infinity) return '-Inf'
  return String(value)
}

function labelText(names: readonly string[], values: readonly string[], extra?: string): string {
  const parts = names.map((n, i) => `${n}="${escapeLabel(values[i] ?? '')}"`)
  if (extra) parts.push(extra)
  return parts.length ? `{${parts.join(',')}}` : ''
}

function header(out: string[], name: string, help: string, type: string): void {
  out.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`)
}

/** Series keyed by their label values in label-name order (a NUL never occurs in our values); no arrays per call. */
function keyOf(names: readonly string[], labels: Labels): string {
  let key = ''
  for (let i = 0; i < names.length; i++) key += i === 0 ? (labels[names[i]!] ?? '') : `\u0000${labels[names[i]!] ?? ''}`
  return key
}

const valuesOf = (names: readonly string[], labels: Labels) => names.map((n) => labels[n] ?? '')

export interface Counter {
  inc(labels: Labels, by?: number): void
  /** The series for `labels`, to move without looking it up again. */
  bind(labels: Labels): { inc(by?: number): void }
}

export interface Gauge {
  set(labels: Labels, value: number): void
  /** Drop every series (gauges refilled from a snapshot at scrape time). */
  reset(): void
}

export interface Histogram {
  observe(labels: Labels, value: number): void
  /** The series for `labels`, to observe without looking it up again. */
  bind(labels: Labels): { observe(value: number): void }
}

export interface Registry {
  counter(name: string, help: string, labelNames: readonly string[]): Counter
  /** A counter kept elsewhere, read when rendered; no sample while `read` answers undefined. */
  counterFrom(name: string, help: string, read: () => number | undefined): void
  gauge(name: string, help: string, labelNames: readonly string[]): Gauge
  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): Histogram
  /** The exposition text of every metric, in registration order. */
  render(): string
}

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

export function createRegistry(): Registry {
  const metrics: Metric[] = []

  const simple = (name: string, help: string, labelNames: readonly string[], type: 'counter' | 'gauge') => {
    const series = new Map<string, { values: string[]; value: number }>()
    metrics.push({
      name,
      render(out) {
        header(out, name, help, type)
        for (const s of series.values()) out.push(`${name}${labelText(labelNames, s.values)} ${formatValue(s.value)}`)
      },
    })
    return {
      add(labels: Labels, by: number, replace: boolean) {
        const key = keyOf(labelNames, labels)
        const s = series.get(key)
        if (s) s.value = replace ? by : s.value + by
        else series.set(key, { values: valuesOf(labelNames, labels), value: by })
      },
      /** For counters only: a gauge's reset() would leave a bound series behind. */
      bind(labels: Labels) {
        // Found or made on first use, so a bound series that never moves is never rendered.
        let bound: { values: string[]; value: number } | undefined
        return {
          inc(by = 1) {
            if (!bound) {
              const key = keyOf(labelNames, labels)
              bound = series.get(key)
              if (!bound) series.set(key, (bound = { values: valuesOf(labelNames, labels), value: 0 }))
            }
            bound.value += by
          },
        }
      },
      reset: () => series.clear(),
    }
  }

  return {
    counter(name, help, labelNames) {
      const m = simple(name, help, labelNames, 'counter')
      return { inc: (labels, by = 1) => m.add(labels, by, false), bind: m.bind }
    },
    counterFrom(name, help, read) {
      metrics.push({
        name,
        render(out) {
          header(out, name, help, 'counter')
          const value = read()
          if (value !== undefined) out.push(`${name} ${formatValue(value)}`)
        },
      })
    },
    gauge(name, help, labelNames) {
      const m = simple(name, help, labelNames, 'gauge')
      return { set: (labels, value) => m.add(labels, value, true), reset: m.reset }
    },
    histogram(name, help, labelNames, buckets) {
      const bounds = [...buckets].sort((a, b) => a - b)
      const series = new Map<string, Series>()
      metrics.push({
        name,
        render(out) {
          header(out, name, help, 'histogram')
          for (const s of series.values()) {
            let cumulative = 0
            for (const [i, le] of bounds.entries()) {
              cumulative += s.counts[i] ?? 0
              out.push(`${name}_bucket${labelText(labelNames, s.values, `le="${formatValue(le)}"`)} ${cumulative}`)
            }
            out.push(`${name}_bucket${labelText(labelNames, s.values, 'le="+Inf"')} ${s.count}`)
            out.push(`${name}_sum${labelText(labelNames, s.values)} ${formatValue(s.sum)}`)
            out.push(`${name}_count${labelText(labelNames, s.values)} ${s.count}`)
          }
        },
      })
      type Series = { values: string[]; counts: number[]; sum: number; count: number }
      const seriesFor = (labels: Labels): Series => {
        const key = keyOf(labelNames, labels)
        let s = series.get(key)
        if (!s) series.set(key, (s = { values: valuesOf(labelNames, labels), counts: bounds.map(() => 0), sum: 0, count: 0 }))
        return s
      }
      /** Non-finite values are dropped (a histogram cannot place them). */
      const record = (s: Series, value: number) => {
        if (!Number.isFinite(value)) return
        let i = 0
        while (i < bounds.length && value > bounds[i]!) i++
        if (i < bounds.length) s.counts[i] = (s.counts[i] ?? 0) + 1
        s.sum += value
        s.count++
      }
      return {
        observe(labels, value) {
          record(seriesFor(labels), value)
        },
        bind(labels) {
          let s: Series | undefined
          return {
            observe(value) {
              record((s ??= seriesFor(labels)), value)
            },
          }
        },
      }
    },
    render() {
      const out: string[] = []
      for (const m of metrics) m.render(out)
      return `${out.join('\n')}\n`
    },
  }
}
