/** Promoted versions on disk: `classifier/learned-vN.json` files and the `classifier/current.json` pointer, written atomically. */
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import * as v from 'valibot'
import type { Logger } from 'switchyard/plugin'
import { decodeMemory, encodeMemory, MemoryFile } from './memory.ts'
import { decodeModel, encodeModel, WeightsFile } from './model.ts'
import { temperatureOf } from './predictor.ts'
import type { Served } from './predictor.ts'

export const VERSIONS_FOLDER = 'classifier'
const POINTER = 'current.json'
const fileOf = (version: string) => `learned-${version}.json`

/** A promoted version: the weights plus what makes it this version (temperature, fitted bias, memory, its labels). */
export const VersionFile = v.strictObject({
  format: v.literal('switchyard-learned-version-v1'),
  version: v.pipe(v.string(), v.regex(/^v\d+$/)),
  base: v.string(),
  createdAtMs: v.number(),
  temperature: v.pipe(v.number(), v.minValue(0.01)),
  classBias: v.tuple([v.number(), v.number(), v.number()]),
  memory: MemoryFile,
  trainedOn: v.array(v.string()),
  weights: WeightsFile,
  /** Why it was promoted, with every figure (the retrain result). */
  retrain: v.record(v.string(), v.unknown()),
})

/** The pointer: which version serves, the versions served before it (for rollback), and every version written. */
export const PointerFile = v.strictObject({
  format: v.literal('switchyard-learned-pointer-v1'),
  /** The weights every stored version was trained from; a gateway configured with other weights ignores the pointer. */
  base: v.string(),
  current: v.string(),
  /** Versions in the order they were put in service, `current` last; rollback goes one step back. */
  history: v.array(v.string()),
  versions: v.array(v.strictObject({ version: v.string(), file: v.string(), createdAtMs: v.number() })),
  /** The number the next version gets (never reused, also after a rollback). */
  next: v.pipe(v.number(), v.integer(), v.minValue(1)),
  updatedAtMs: v.number(),
})
export type PointerFile = v.InferOutput<typeof PointerFile>

/** `shipped-<8 hex>` for the shipped weights file, `weights-<8 hex>` for another: a stable id of the file's bytes. */
export function weightsId(bytes: Uint8Array, shipped: boolean): string {
  return `${shipped ? 'shipped' : 'weights'}-${new Bun.CryptoHasher('sha256').update(bytes).digest('hex').slice(0, 8)}`
}

/** A weights file as the version retrains start from; throws naming the file when it cannot be read or decoded. */
export async function readWeights(path: string, shipped: boolean): Promise<Served> {
  let bytes: Uint8Array
  try {
    bytes = await Bun.file(path).bytes()
  } catch (cause) {
    throw new Error(`learned-classifier: cannot read weights file ${path}`, { cause })
  }
  try {
    const model = decodeModel(JSON.parse(new TextDecoder().decode(bytes)))
    const id = weightsId(bytes, shipped)
    return { version: id, base: id, model, temperature: temperatureOf(model), classBias: [0, 0, 0], trainedOn: new Set() }
  } catch (cause) {
    throw new Error(`learned-classifier: ${path} is not a weights file: ${(cause as Error).message}`, { cause })
  }
}

/** Write through a temporary file, fsync, then rename over the target: a reader sees the old file or the new one, never half. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf('/')) || '.'
  await mkdir(dir, { recursive: true })
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
  const handle = await open(tmp, 'w')
  try {
    await handle.writeFile(text)
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await rename(tmp, path)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
  // The rename itself must survive a crash: sync the directory entry too (best effort; some filesystems refuse).
  const d = await open(dir, 'r').catch(() => undefined)
  await d?.sync().catch(() => undefined)
  await d?.close()
}

async function readJson(path: string): Promise<unknown> {
  return JSON.parse(await Bun.file(path).text())
}

/** The pointer in `root/classifier/`, or undefined when there is none; throws when it exists but is not a pointer. */
export async function readPointer(root: string): Promise<PointerFile | undefined> {
  const path = join(root, VERSIONS_FOLDER, POINTER)
  if (!(await Bun.file(path).exists())) return undefined
  return v.parse(PointerFile, await readJson(path))
}

/** A fresh pointer for `base`; numbering continues after any version file already in the folder. */
async function freshPointer(root: string, base: string): Promise<PointerFile> {
  const names = await readdir(join(root, VERSIONS_FOLDER)).catch(() => [] as string[])
  const numbers = names.map((n) => /^learned-v(\d+)\.json$/.exec(n)?.[1]).filter((n) => n !== undefined).map(Number)
  return { format: 'switchyard-learned-pointer-v1', base, current: base, history: [base], versions: [], next: Math.max(0, ...numbers) + 1, updatedAtMs: Date.now() }
}

/** The pointer a retrain or rollback continues from: the stored one when it is valid and for this base, else a fresh one. */
export async function pointerFor(root: string, base: string, log?: Logger): Promise<PointerFile> {
  try {
    const pointer = await readPointer(root)
    if (pointer?.base === base) return pointer
    if (pointer) log?.warn('learned-classifier: stored versions were trained from other weights; starting a new history', { stored: pointer.base, base })
  } catch (err) {
    log?.warn('learned-classifier: the version pointer is unreadable; starting a new history', { error: (err as Error).message })
  }
  return freshPointer(root, base)
}

/** Load a stored version; throws with the file when it is missing, corrupt or for another base. */
export async function loadVersion(root: string, version: string, shipped: Served): Promise<Served> {
  const path = join(root, VERSIONS_FOLDER, fileOf(version))
  const file = v.parse(VersionFile, await readJson(path))
  if (file.version !== version) throw new Error(`${path} holds ${file.version}, not ${version}`)
  if (file.base !== shipped.base) throw new Error(`${path} was trained from ${file.base}, not ${shipped.base}`)
  const model = decodeModel(file.weights)
  return {
    version, base: file.base, model, temperature: file.temperature, classBias: file.classBias,
    memory: decodeMemory(file.memory, model.spec.bits), trainedOn: new Set(file.trainedOn),
  }
}

/**
 * The version to serve at setup: the pointer's current one, or the shipped weights when there is no pointer, it is
 * for other weights, or anything about it is unreadable (logged: a half-written or corrupt file never stops startup).
 */
export async function loadServed(root: string, shipped: Served, log: Logger): Promise<Served> {
  try {
    const pointer = await readPointer(root)
    if (!pointer || pointer.current === shipped.base) return shipped
    if (pointer.base !== shipped.base) {
      log.warn('learned-classifier: stored versions were trained from other weights; serving the configured weights', { stored: pointer.base, base: shipped.base })
      return shipped
    }
    return await loadVersion(root, pointer.current, shipped)
  } catch (err) {
    log.warn('learned-classifier: cannot load the promoted version; serving the shipped weights', { dir: join(root, VERSIONS_FOLDER), error: (err as Error).message })
    return shipped
  }
}

/**
 * Write a promoted version's file, then the pointer naming it current. Returns the new pointer and the version as
 * stored (weights quantized as in the file), which is what serves from now on and after a restart alike.
 */
export async function storePromoted(root: string, pointer: PointerFile, served: Served, retrain: Record<string, unknown>): Promise<{ pointer: PointerFile; served: Served }> {
  if (!served.memory) throw new Error('a promoted version has a correction memory')
  const createdAtMs = Date.now()
  const file: v.InferOutput<typeof VersionFile> = {
    format: 'switchyard-learned-version-v1', version: served.version, base: served.base, createdAtMs,
    temperature: served.temperature, classBias: [...served.classBias], memory: encodeMemory(served.memory),
    trainedOn: [...served.trainedOn], weights: encodeModel(served.model), retrain,
  }
  await writeFileAtomic(join(root, VERSIONS_FOLDER, fileOf(served.version)), `${JSON.stringify(file)}\n`)
  const number = Number(served.version.slice(1))
  const next: PointerFile = {
    ...pointer, current: served.version, history: [...pointer.history, served.version],
    versions: [...pointer.versions, { version: served.version, file: fileOf(served.version), createdAtMs }],
    next: Math.max(pointer.next, number + 1), updatedAtMs: createdAtMs,
  }
  await writeFileAtomic(join(root, VERSIONS_FOLDER, POINTER), `${JSON.stringify(next, null, 2)}\n`)
  return { pointer: next, served: { ...served, model: decodeModel(file.weights) } }
}

/** Point back at the version served before the current one; throws when there is none. */
export async function storeRollback(root: string, pointer: PointerFile): Promise<{ pointer: PointerFile; version: string; previous: string }> {
  if (pointer.history.length < 2) throw new Error(`no earlier version to roll back to (serving ${pointer.current})`)
  const history = pointer.history.slice(0, -1)
  const next = { ...pointer, current: history.at(-1)!, history, updatedAtMs: Date.now() }
  await writeFileAtomic(join(root, VERSIONS_FOLDER, POINTER), `${JSON.stringify(next, null, 2)}\n`)
  return { pointer: next, version: next.current, previous: pointer.current }
}

/** What an instance serving the shipped (or configured) weights publishes: "serve your base weights". */
export const BaseVersion = v.strictObject({ format: v.literal('switchyard-learned-base-v1'), base: v.string() })

/** The version serving now as text another instance can adopt: its version file, or a note naming the base weights. */
export async function exportServed(root: string, served: Served, shipped: Served): Promise<{ version: string; payload: string }> {
  if (served === shipped || served.version === shipped.base) return { version: shipped.base, payload: JSON.stringify({ format: 'switchyard-learned-base-v1', base: shipped.base }) }
  return { version: served.version, payload: await Bun.file(join(root, VERSIONS_FOLDER, fileOf(served.version))).text() }
}

/**
 * Stores a version another instance promoted (its file, then the pointer naming it current) and returns what to
 * serve; undefined when it is for other weights (the other instance runs another config) or unreadable.
 */
export async function storeAdopted(root: string, pointer: PointerFile, version: string, payload: string, shipped: Served): Promise<Served | undefined> {
  const json = JSON.parse(payload) as unknown
  const base = v.safeParse(BaseVersion, json)
  if (base.success) {
    if (base.output.base !== shipped.base) return undefined
    const next = { ...pointer, current: shipped.base, history: [...pointer.history, shipped.base], updatedAtMs: Date.now() }
    await writeFileAtomic(join(root, VERSIONS_FOLDER, POINTER), `${JSON.stringify(next, null, 2)}\n`)
    return shipped
  }
  const file = v.parse(VersionFile, json)
  if (file.version !== version || file.base !== shipped.base) return undefined
  await writeFileAtomic(join(root, VERSIONS_FOLDER, fileOf(version)), payload.endsWith('\n') ? payload : `${payload}\n`)
  const known = pointer.versions.some((x) => x.version === version)
  const next: PointerFile = {
    ...pointer, current: version, history: [...pointer.history, version],
    versions: known ? pointer.versions : [...pointer.versions, { version, file: fileOf(version), createdAtMs: file.createdAtMs }],
    next: Math.max(pointer.next, Number(version.slice(1)) + 1), updatedAtMs: Date.now(),
  }
  await writeFileAtomic(join(root, VERSIONS_FOLDER, POINTER), `${JSON.stringify(next, null, 2)}\n`)
  return loadVersion(root, version, shipped)
}
