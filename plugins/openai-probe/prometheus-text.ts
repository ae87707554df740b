/** A small parser for the Prometheus text exposition format: samples with their labels, comments skipped. */

export interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/

/** Lines that do not parse are skipped: one odd metric must not hide the rest. */
export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = []
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const sample = parseSampleLine(line)
    if (sample) samples.push(sample)
  }
  return samples
}

function parseSampleLine(line: string): Sample | undefined {
  const name = NAME.exec(line)?.[0]
  if (!name) return undefined
  let rest = line.slice(name.length)
  let labels: Record<string, string> = {}
  if (rest.startsWith('{')) {
    const parsed = parseLabels(rest)
    if (!parsed) return undefined
    labels = parsed.labels
    rest = rest.slice(parsed.length)
  }
  // After the value an optional timestamp may follow; it is ignored.
  const valueText = rest.trim().split(/\s+/)[0]
  if (valueText === undefined || valueText === '') return undefined
  const value = parseValue(valueText)
  return value === undefined ? undefined : { name, labels, value }
}

function parseValue(text: string): number | undefined {
  if (text === 'NaN') return Number.NaN
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY
  if (text === '-Inf') return Number.NEGATIVE_INFINITY
  const n = Number(text)
  return Number.isNaN(n) ? undefined : n
}

/** Parses `{a="x",b="y\"z"}` from the start of `text`; returns the labels and how many characters it used. */
function parseLabels(text: string): { labels: Record<string, string>; length: number } | undefined {
  const labels: Record<string, string> = {}
  let i = 1
  while (i < text.length) {
    while (text[i] === ' ' || text[i] === ',') i++
    if (text[i] === '}') return { labels, length: i + 1 }
    const key = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(text.slice(i))?.[0]
    if (!key) return undefined
    i += key.length
    while (text[i] === ' ') i++
    if (text[i] !== '=') return undefined
    i++
    while (text[i] === ' ') i++
    if (text[i] !== '"') return undefined
    i++
    let value = ''
    for (;;) {
      const c = text[i]
      if (c === undefined) return undefined
      i++
      if (c === '"') break
      if (c === '\\') {
        const next = text[i]
        i++
        value += next === 'n' ? '\n' : (next ?? '')
      } else {
        value += c
      }
    }
    labels[key] = value
  }
  return undefined
}
