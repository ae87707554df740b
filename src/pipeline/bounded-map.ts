/** A Map bounded by entry count that evicts the least recently used entry. */

export interface BoundedMap<K, V> {
  get(key: K): V | undefined
  set(key: K, value: V): void
  readonly size: number
}

export function createBoundedMap<K, V>(maxEntries: number): BoundedMap<K, V> {
  const map = new Map<K, V>()
  return {
    get(key) {
      const value = map.get(key)
      if (value !== undefined) {
        map.delete(key)
        map.set(key, value)
      }
      return value
    },
    set(key, value) {
      map.delete(key)
      map.set(key, value)
      if (map.size > maxEntries) map.delete(map.keys().next().value as K)
    },
    get size() {
      return map.size
    },
  }
}
