/** A small line logger: `level tag message key=value`, to stderr; level from SWITCHYARD_LOG_LEVEL. */
import type { Logger } from './plugin/types.ts'

const LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const
type Level = (typeof LEVELS)[number]

function threshold(): number {
  const named = (process.env.SWITCHYARD_LOG_LEVEL ?? 'info').toLowerCase()
  const index = LEVELS.indexOf(named as Level)
  return index === -1 ? 1 : index
}

function formatFields(fields: Record<string, unknown> | undefined): string {
  if (!fields) return ''
  let out = ''
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue
    const text = typeof value === 'string' ? value : JSON.stringify(value)
    out += ` ${key}=${/[\s"]/.test(text) ? JSON.stringify(text) : text}`
  }
  return out
}

export function createLogger(tag: string, write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  const min = threshold()
  const at = (level: Level) => (msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS.indexOf(level) < min) return
    write(`${new Date().toISOString()} ${level.padEnd(5)} [${tag}] ${msg}${formatFields(fields)}\n`)
  }
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}
