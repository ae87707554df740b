/** Replace the generated results section of BENCHMARKS.md, keeping the hand-written methodology around it. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'

const START = '<!-- results:start (bun run bench --write) -->'
const END = '<!-- results:end -->'

export async function writeResults(path: string, body: string): Promise<void> {
  const text = existsSync(path) ? readFileSync(path, 'utf8') : `# Benchmarks\n\n## Results\n\n${START}\n${END}\n`
  const from = text.indexOf(START)
  const to = text.indexOf(END)
  if (from < 0 || to < from) throw new Error(`${path} has no results markers (${START} ... ${END})`)
  writeFileSync(path, `${text.slice(0, from + START.length)}\n${body}\n${text.slice(to)}`)
}
