/** What nvidia-smi's exit codes mean (nvidia-smi(1), RETURN VALUE). */

const MEANINGS: Readonly<Record<number, string>> = {
  2: 'invalid argument or flag',
  3: 'operation not available on the target device',
  4: 'insufficient permissions',
  6: 'object query failed (no GPU found?)',
  8: 'external power cables not attached',
  9: 'NVIDIA driver not loaded',
  10: 'kernel detected an interrupt issue with a GPU',
  12: 'NVML shared library not found',
  13: 'NVML function not implemented',
  14: 'infoROM corrupted',
  15: 'GPU fell off the bus or is inaccessible',
  255: 'other or internal error',
}

export function describeExitCode(code: number): string {
  return MEANINGS[code] ?? 'unknown error'
}
