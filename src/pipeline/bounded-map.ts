/** A Map bounded by entry count: two generations, the older dropped whole when the newer fills (O(1), no scans). */

export interface BoundedMap<K, V> {
  get(key: K): V | undefined
  set(key: K, value: V): void
  clear(): void
  readonly size: number
}

export function createBoundedMap<K, V>(maxEntries: number): BoundedMap<K, V> {
  const half = Math.max(1, Math.ceil(maxEntries / 2))
  let young = new Map<K, V>()
  let old = new Map<K, V>()
  const set = (key: K, value: V) => {
    if (young.size >= half) {
      old = young
      young = new Map()
    }
    young.set(key, value)
  }
  return {
    get(key) {
      const value = young.get(key)
      if (value !== undefined) return value
      const aged = old.get(key)
      // A hit in the old generation is recent use: keep it in the young one.
      if (aged !== undefined) set(key, aged)
      return aged
    },
    set,
    clear() {
      young = new Map()
      old = new Map()
    },
    get size() {
      return young.size + old.size
    },
  }
}
