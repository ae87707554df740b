/** Parse `nvidia-smi --query-gpu=… --format=csv,noheader,nounits` output into GpuReports. */
import type { GpuReport } from 'switchyard/plugin'

/** The query, in column order; the parser relies on this order. */
export const GPU_QUERY_FIELDS = [
  'index',
  'uuid',
  'name',
  'memory.total',
  'memory.used',
  'memory.free',
  'utilization.gpu',
  'temperature.gpu',
  'power.draw',
  'power.limit',
] as const

export const GPU_QUERY_ARGS = [`--query-gpu=${GPU_QUERY_FIELDS.join(',')}`, '--format=csv,noheader,nounits'] as const

/** Columns after the name; a name may contain spaces (never ", "), but join leftovers to be safe. */
const NUMERIC_TAIL = GPU_QUERY_FIELDS.length - 3

/** Lines that do not have a numeric index are skipped; a caller sees that as fewer GPUs. */
export function parseGpuCsv(stdout: string): GpuReport[] {
  const gpus: GpuReport[] = []
  for (const raw of stdout.split('\n')) {
    const line = raw.trim()
    if (line === '') continue
    const cells = line.split(',').map((c) => c.trim())
    if (cells.length < GPU_QUERY_FIELDS.length) continue
    const index = readNumber(cells[0])
    if (index === undefined || !Number.isInteger(index)) continue
    const tail = cells.slice(cells.length - NUMERIC_TAIL).map(readNumber)
    const [memoryTotalMiB, memoryUsedMiB, memoryFreeMiB, utilization, temperature, powerDrawW, powerLimitW] = tail
    const fields: GpuReport = {
      index,
      uuid: readText(cells[1]),
      name: readText(cells.slice(2, cells.length - NUMERIC_TAIL).join(', ')),
      memoryTotalMiB,
      memoryUsedMiB,
      memoryFreeMiB,
      utilization,
      temperature,
      powerDrawW,
      powerLimitW,
    }
    gpus.push(Object.fromEntries(Object.entries(fields).filter(([, x]) => x !== undefined)) as GpuReport)
  }
  return gpus
}

/** `[N/A]`, `[Not Supported]`, `[Unknown Error]`, bare `N/A` and the like are unknown, never 0. */
export function readNumber(cell: string | undefined): number | undefined {
  if (cell === undefined || cell === '' || cell.startsWith('[')) return undefined
  const n = Number(cell)
  return Number.isFinite(n) ? n : undefined
}

function readText(cell: string | undefined): string | undefined {
  if (cell === undefined || cell === '' || cell.startsWith('[') || cell === 'N/A') return undefined
  return cell
}
