import { describe, expect, test } from 'bun:test'
import { dirname, join, relative, resolve } from 'node:path'

const ROOT = resolve(import.meta.dir, '../..')

/** Tracked files, as a clone has them. */
function trackedFiles(): string[] {
  const out = Bun.spawnSync(['git', 'ls-files', '-z'], { cwd: ROOT })
  if (out.exitCode !== 0) throw new Error(`git ls-files failed: ${out.stderr.toString()}`)
  return out.stdout.toString().split('\0').filter((f) => f !== '')
}

/** Folders of a build machine or a user's home: a file naming one depends on something a clone does not have. */
const MACHINE_PATH = /(?<![\w.:/-])\/(?:work|root|home|Users|mnt|srv)\/[\w./-]+/g
/** Relative paths that climb: checked against the file's folder (and the repo root, for commands run from it). */
const CLIMBING = /(?<![\w.-])(?:\.\.\/)+[\w.@-][\w./@-]*/g
const BINARY = /\.(png|jpe?g|gif|ico|woff2?|db|gz|zip|wasm)$/i
/** Third-party text kept as data (prompts quote paths of their own); their provenance is in data/README.md. */
const DATA = /^data\/.*\.jsonl$|^plugins\/learned-classifier\/supplement(-test)?\.jsonl$/

const outside = (path: string) => relative(ROOT, path).startsWith('..')

describe('the repository stands on its own', () => {
  test('no tracked file names a path of a build machine or reaches outside the repository', async () => {
    const problems: string[] = []
    for (const file of trackedFiles()) {
      if (BINARY.test(file) || DATA.test(file)) continue
      const text = await Bun.file(join(ROOT, file)).text()
      text.split('\n').forEach((line, i) => {
        for (const m of line.matchAll(MACHINE_PATH)) problems.push(`${file}:${i + 1}: absolute path ${m[0]}`)
        for (const m of line.matchAll(CLIMBING)) {
          const fromFile = resolve(ROOT, dirname(file), m[0])
          const fromRoot = resolve(ROOT, m[0])
          if (outside(fromFile) && outside(fromRoot)) problems.push(`${file}:${i + 1}: path outside the repository ${m[0]}`)
        }
      })
    }
    expect(problems).toEqual([])
  })

  test('the check finds what it looks for', () => {
    // Built from parts, so this file does not name such a path itself.
    const machine = ['', 'home', 'builder', 'data.jsonl'].join('/')
    expect(`--data ${machine}`.match(MACHINE_PATH)).toEqual([machine])
    const climbing = ['..', 'sibling', 'data.jsonl'].join('/')
    expect(`see \`${climbing}\``.match(CLIMBING)).toEqual([climbing])
    expect(outside(resolve(ROOT, climbing))).toBe(true)
    expect(outside(resolve(ROOT, 'test/repo', '../../src/main.ts'))).toBe(false)
    expect('import x from "../../src/a.ts"; open /usr/bin/chromium or /tmp/x'.match(MACHINE_PATH)).toBeNull()
  })
})
