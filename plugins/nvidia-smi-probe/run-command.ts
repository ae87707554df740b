/** Run a command to completion under an abort signal, capturing its output; a missing binary is a result, not a throw. */
import { messageOf } from 'switchyard/plugin'

export type CommandResult =
  | { readonly kind: 'exited'; readonly code: number; readonly stdout: string; readonly stderr: string }
  | { readonly kind: 'not-found'; readonly error: string }
  | { readonly kind: 'aborted'; readonly timedOut: boolean }
  | { readonly kind: 'failed'; readonly error: string }

export async function runCommand(
  cmd: readonly string[],
  signal: AbortSignal,
  env: Readonly<Record<string, string>> | undefined,
): Promise<CommandResult> {
  if (signal.aborted) return aborted(signal)
  let proc: Bun.Subprocess<'ignore', 'pipe', 'pipe'>
  try {
    proc = Bun.spawn([...cmd], {
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
      env: env ? { ...process.env, ...env } : undefined,
      signal,
      // A hung GPU can leave nvidia-smi in uninterruptible waits; SIGTERM is not enough.
      killSignal: 'SIGKILL',
    })
  } catch (err) {
    const code = (err as { code?: unknown }).code
    const message = messageOf(err)
    return code === 'ENOENT' ? { kind: 'not-found', error: message } : { kind: 'failed', error: message }
  }
  // Read while it runs so a full pipe cannot stall it; never await the pipes past the deadline,
  // because a child the command left behind can hold them open.
  const output = Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()])
  output.catch(() => undefined)
  const stop = new Promise<'aborted'>((resolve) => {
    if (signal.aborted) resolve('aborted')
    else signal.addEventListener('abort', () => resolve('aborted'), { once: true })
  })
  const code = await Promise.race([proc.exited, stop])
  if (code === 'aborted' || signal.aborted) return aborted(signal)
  const captured = await Promise.race([output, stop])
  if (captured === 'aborted') return aborted(signal)
  return { kind: 'exited', code, stdout: captured[0], stderr: captured[1] }
}

function aborted(signal: AbortSignal): CommandResult {
  const reason: unknown = signal.reason
  return { kind: 'aborted', timedOut: reason instanceof Error && reason.name === 'TimeoutError' }
}
