/**
 * Readers for the standard `OTEL_*` variables: each value parsed once, by the SDK's rules, with a warning that
 * names the variable and the value used instead when it does not parse.
 */

export type Env = Readonly<Record<string, string | undefined>>

/** A candidate source of one setting: a variable and how to read its (trimmed, non-empty) value. */
export type Candidate<T> = readonly [name: string, parse: (raw: string) => T | undefined]

export interface EnvReader {
  /** The trimmed value, or undefined when unset or blank (the SDK's `getStringFromEnv`). */
  raw(name: string): string | undefined
  /**
   * The first candidate whose variable is set to a value it accepts, else `fallback` (described by
   * `fallbackText`). Each set-but-invalid candidate before it is logged once, with what is used instead.
   */
  first<T>(candidates: readonly Candidate<T>[], expected: string | ((raw: string) => string), fallback: T, fallbackText?: string): T
  warn(message: string): void
}

export function createEnvReader(env: Env, warn: (message: string) => void): EnvReader {
  const raw = (name: string) => env[name]?.trim() || undefined
  return {
    raw,
    warn,
    first(candidates, expected, fallback, fallbackText = `the default ${show(fallback)}`) {
      const rejected: [string, string][] = []
      let chosen: { name: string; value: (typeof fallback) } | undefined
      for (const [name, parse] of candidates) {
        const value = raw(name)
        if (value === undefined) continue
        const parsed = parse(value)
        if (parsed === undefined) rejected.push([name, value])
        else {
          chosen = { name, value: parsed }
          break
        }
      }
      const used = chosen ? `${chosen.name}=${show(chosen.value)}` : fallbackText
      for (const [name, value] of rejected) {
        warn(`${name}=${JSON.stringify(value)} is not ${typeof expected === 'string' ? expected : expected(value)}; using ${used}`)
      }
      return chosen ? chosen.value : fallback
    },
  }
}

const show = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value))

/** A number as the SDK reads one (`Number(raw)`), kept when `ok` holds. */
export const numberWhere = (ok: (n: number) => boolean) => (raw: string) => {
  const n = Number(raw)
  return Number.isFinite(n) && ok(n) ? n : undefined
}

export const positiveNumber = numberWhere((n) => n > 0)
export const positiveInteger = numberWhere((n) => n > 0 && Number.isInteger(n))
export const ratio = numberWhere((n) => n >= 0 && n <= 1)

/** `true` / `false` in any case, as the SDK's `getBooleanFromEnv`. */
export const boolean = (raw: string) => {
  const lower = raw.toLowerCase()
  return lower === 'true' ? true : lower === 'false' ? false : undefined
}

/** One of `values`, matched exactly (the SDK compares sampler, exporter and protocol names as given). */
export const oneOf = <const T extends string>(values: readonly T[]) => (raw: string) => (values as readonly string[]).includes(raw) ? (raw as T) : undefined

/** An absolute http(s) URL, normalized as the SDK does (`new URL(raw).href`: an empty path becomes `/`). */
export function httpUrl(raw: string): string | undefined {
  try {
    const url = new URL(raw)
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined
  } catch {
    return undefined
  }
}

/** A base URL with the signal path appended (`http://collector:4318` → `http://collector:4318/v1/traces`). */
export const withSignalPath = (base: string, path: string) => `${base.replace(/\/+$/, '')}/${path}`

/** An HTTP header name (an RFC 9110 token). */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/**
 * `key=value,key2=value2` with percent-encoded keys and values (the W3C baggage octets the SDK's
 * `parseKeyPairsIntoRecord` accepts). An entry that does not parse, or is not a valid header, is left out
 * with a warning; the others are kept, as the SDK keeps them.
 */
export function headerList(reader: EnvReader, name: string): Record<string, string> {
  const text = reader.raw(name)
  const headers: Record<string, string> = {}
  if (text === undefined) return headers
  for (const entry of text.split(',')) {
    if (entry.trim() === '') continue
    const pair = entry.split(';', 1)[0]!
    const at = pair.indexOf('=')
    let key: string | undefined
    let value: string | undefined
    try {
      key = at > 0 ? decodeURIComponent(pair.slice(0, at).trim()) : undefined
      value = at > 0 ? decodeURIComponent(pair.slice(at + 1).trim()) : undefined
    } catch {
      key = undefined
    }
    if (!key || !value || !HEADER_NAME.test(key) || /[\r\n]/.test(value)) {
      reader.warn(`${name}: entry ${JSON.stringify(entry.trim())} is not a header as key=value; left out`)
      continue
    }
    headers[key] = value
  }
  return headers
}

/**
 * `OTEL_RESOURCE_ATTRIBUTES` by the rule the SDK's resource detector applies: `key=value` pairs, percent-decoded,
 * at most 255 characters each; any error discards the whole value (the specification says so).
 */
export function resourceAttributes(reader: EnvReader): Record<string, string> {
  const name = 'OTEL_RESOURCE_ATTRIBUTES'
  const text = reader.raw(name)
  if (text === undefined) return {}
  const attributes: Record<string, string> = {}
  for (const entry of text.split(',')) {
    if (entry.trim() === '') continue
    const parts = entry.split('=')
    let problem: string | undefined
    if (parts.length !== 2 || parts[0]!.trim() === '') problem = `entry ${JSON.stringify(entry)} is not key=value (percent-encode "," and "=")`
    else {
      try {
        const key = decodeURIComponent(parts[0]!.trim())
        const value = decodeURIComponent(parts[1]!.trim())
        if (key.length > 255 || value.length > 255) problem = `entry ${JSON.stringify(entry)} is longer than 255 characters`
        else attributes[key] = value
      } catch {
        problem = `entry ${JSON.stringify(entry)} is not valid percent-encoding`
      }
    }
    if (problem) {
      reader.warn(`${name}: ${problem}; using none of its attributes`)
      return {}
    }
  }
  return attributes
}
