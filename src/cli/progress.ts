/** A progress line for long CLI steps: a spinner on a TTY, one line per step otherwise; written to stderr. */

export interface Progress {
  done(message?: string): void
  fail(message?: string): void
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']

export function startProgress(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  const started = performance.now()
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)} s`
  if (!stream.isTTY) {
    stream.write(`${label}…\n`)
    return {
      done: (message) => void (message && stream.write(`${message} (${elapsed()})\n`)),
      fail: (message) => void stream.write(`${message ?? `${label} failed`} (${elapsed()})\n`),
    }
  }
  let frame = 0
  const draw = () => stream.write(`\r\x1b[2K${FRAMES[frame++ % FRAMES.length]} ${label}… ${elapsed()}`)
  draw()
  const timer = setInterval(draw, 80)
  const finish = (mark: string, message: string) => {
    clearInterval(timer)
    stream.write(`\r\x1b[2K${mark} ${message} (${elapsed()})\n`)
  }
  return {
    done: (message) => finish('✓', message ?? label),
    fail: (message) => finish('✗', message ?? `${label} failed`),
  }
}
