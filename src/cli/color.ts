/** ANSI colors for CLI output, on only when the stream is a TTY and NO_COLOR is unset (FORCE_COLOR forces them). */

export interface Colors {
  readonly enabled: boolean
  bold(s: string): string
  dim(s: string): string
  red(s: string): string
  green(s: string): string
  yellow(s: string): string
  cyan(s: string): string
  magenta(s: string): string
}

export function shouldColor(stream: { isTTY?: boolean } = process.stdout, env: Record<string, string | undefined> = process.env): boolean {
  if (env.NO_COLOR) return false
  if (env.FORCE_COLOR && env.FORCE_COLOR !== '0') return true
  return stream.isTTY === true && env.TERM !== 'dumb'
}

export function createColors(enabled = shouldColor()): Colors {
  const wrap = (open: number, close: number) => (s: string) => (enabled ? `\x1b[${open}m${s}\x1b[${close}m` : s)
  return {
    enabled,
    bold: wrap(1, 22),
    dim: wrap(2, 22),
    red: wrap(31, 39),
    green: wrap(32, 39),
    yellow: wrap(33, 39),
    cyan: wrap(36, 39),
    magenta: wrap(35, 39),
  }
}

/** The color a task class is shown in, the same on the CLI as on the dashboard. */
export function classColor(c: Colors, label: string | null | undefined): (s: string) => string {
  return label === 'SIMPLE' ? c.green : label === 'MODERATE' ? c.yellow : label === 'COMPLEX' ? c.magenta : (s) => s
}
