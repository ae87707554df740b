/** Correction memory: families of corrected prompts (feature centroids); a request close to one gets its label. */
import * as v from 'valibot'
import { TASK_CLASSES } from 'switchyard/plugin'
import type { TaskClass } from 'switchyard/plugin'
import type { Vector } from './featurize.ts'
import { cosineGroups } from './similarity.ts'

/**
 * The numbers behind the memory, chosen on the dev data (docs/classifiers.md, "Learning from corrections"):
 * corrections with the same label whose cosine is at least `linkCosine` (directly or through a chain) form a family;
 * a request whose cosine to a family's centroid is at least `answerCosine`, and at least `answerMargin` above its
 * cosine to any family of another label, gets that family's label. Across the dev sources a prompt's cosine to the
 * centroid of 40 other prompts of its own source is 0.4-0.8, to other sources' centroids mostly under 0.35.
 */
export const MEMORY_DEFAULTS = { linkCosine: 0.5, answerCosine: 0.55, answerMargin: 0.05, maxFamilies: 128, maxTermsPerFamily: 1024 } as const
export type MemorySettings = { readonly [K in keyof typeof MEMORY_DEFAULTS]: number }

export interface MemoryFamily {
  readonly label: TaskClass
  /** Corrections in the family, and their summed weight (explicit sources weigh more). */
  readonly count: number
  readonly weight: number
  /** The unit-length weighted mean of the members' sparse vectors, strongest terms only. */
  readonly index: Int32Array
  readonly value: Float32Array
}

export interface MemoryHit {
  readonly label: TaskClass
  readonly cosine: number
  readonly count: number
}

export interface CorrectionMemory {
  readonly families: readonly MemoryFamily[]
  readonly answerCosine: number
  readonly answerMargin: number
  /** The family closest to `fv` when it is close enough; allocation-free. */
  lookup(fv: Vector): MemoryHit | undefined
}

export interface Correction {
  readonly fv: Vector
  readonly label: TaskClass
  readonly weight: number
}

function centroid(members: readonly Correction[], maxTerms: number): { index: Int32Array; value: Float32Array } {
  const acc = new Map<number, number>()
  for (const m of members) for (let i = 0; i < m.fv.index.length; i++) {
    const k = m.fv.index[i]!
    acc.set(k, (acc.get(k) ?? 0) + m.weight * m.fv.value[i]!)
  }
  const terms = [...acc].sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]) || a[0] - b[0]).slice(0, maxTerms)
  const norm = Math.sqrt(terms.reduce((s, [, x]) => s + x * x, 0)) || 1
  return { index: Int32Array.from(terms, ([k]) => k), value: Float32Array.from(terms, ([, x]) => x / norm) }
}

/** Group corrections into same-label families and keep the heaviest `maxFamilies` (ties: more members, then label order). */
export function buildFamilies(corrections: readonly Correction[], bits: number, settings: MemorySettings = MEMORY_DEFAULTS): MemoryFamily[] {
  const families: MemoryFamily[] = []
  for (const label of TASK_CLASSES) {
    const same = corrections.filter((c) => c.label === label)
    const groups = cosineGroups(same.map((c) => c.fv), settings.linkCosine, bits)
    const members = new Map<number, Correction[]>()
    groups.forEach((g, i) => members.set(g, [...(members.get(g) ?? []), same[i]!]))
    for (const list of members.values()) {
      families.push({ label, count: list.length, weight: list.reduce((s, c) => s + c.weight, 0), ...centroid(list, settings.maxTermsPerFamily) })
    }
  }
  return families.sort((a, b) => b.weight - a.weight || b.count - a.count).slice(0, settings.maxFamilies)
}

/**
 * The memory over families: an inverted index from hashed bucket to (family, weight), so a lookup touches only the
 * postings of the request's own buckets (at most `maxFamilies` per bucket) instead of every stored term.
 */
export function createCorrectionMemory(
  families: readonly MemoryFamily[], answerCosine: number = MEMORY_DEFAULTS.answerCosine, answerMargin: number = MEMORY_DEFAULTS.answerMargin,
): CorrectionMemory {
  const postings = new Map<number, { family: Int32Array; value: Float32Array }>()
  const lists = new Map<number, [number[], number[]]>()
  families.forEach((f, id) => {
    for (let i = 0; i < f.index.length; i++) {
      const list = lists.get(f.index[i]!) ?? [[], []]
      list[0].push(id)
      list[1].push(f.value[i]!)
      lists.set(f.index[i]!, list)
    }
  })
  for (const [k, [ids, values]] of lists) postings.set(k, { family: Int32Array.from(ids), value: Float32Array.from(values) })
  const score = new Float32Array(families.length)
  return {
    families,
    answerCosine,
    answerMargin,
    lookup(fv) {
      if (families.length === 0) return undefined
      score.fill(0)
      for (let i = 0; i < fv.index.length; i++) {
        const p = postings.get(fv.index[i]!)
        if (p === undefined) continue
        const x = fv.value[i]!
        for (let j = 0; j < p.family.length; j++) score[p.family[j]!]! += x * p.value[j]!
      }
      let best = 0
      for (let f = 1; f < score.length; f++) if (score[f]! > score[best]!) best = f
      const family = families[best]!
      if (score[best]! < answerCosine) return undefined
      // Families of another label nearly as close mean the corrections disagree here: leave it to the model.
      for (let f = 0; f < score.length; f++) if (families[f]!.label !== family.label && score[f]! > score[best]! - answerMargin) return undefined
      return { label: family.label, cosine: score[best]!, count: family.count }
    },
  }
}

/** The memory as stored in a version file: sparse centroids as base64 (Int32 buckets, Float32 values). */
export const MemoryFile = v.strictObject({
  answerCosine: v.number(),
  answerMargin: v.number(),
  families: v.array(v.strictObject({
    label: v.picklist(TASK_CLASSES),
    count: v.pipe(v.number(), v.integer(), v.minValue(1)),
    weight: v.number(),
    index: v.string(),
    value: v.string(),
  })),
})
export type MemoryFile = v.InferOutput<typeof MemoryFile>

const b64 = (a: Int32Array | Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64')
const bytesOf = (s: string) => {
  const b = Buffer.from(s, 'base64')
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)
}

export function encodeMemory(memory: CorrectionMemory): MemoryFile {
  return {
    answerCosine: memory.answerCosine,
    answerMargin: memory.answerMargin,
    families: memory.families.map((f) => ({ label: f.label, count: f.count, weight: f.weight, index: b64(f.index), value: b64(f.value) })),
  }
}

/** Decode a stored memory; throws when a family's buckets do not fit `bits` or its arrays disagree. */
export function decodeMemory(file: MemoryFile, bits: number): CorrectionMemory {
  const families = file.families.map((f, i) => {
    const index = new Int32Array(bytesOf(f.index))
    const value = new Float32Array(bytesOf(f.value))
    if (index.length !== value.length || index.some((k) => k < 0 || k >= 1 << bits)) throw new Error(`memory.families[${i}]: bad centroid`)
    return { label: f.label, count: f.count, weight: f.weight, index, value }
  })
  return createCorrectionMemory(families, file.answerCosine, file.answerMargin)
}
