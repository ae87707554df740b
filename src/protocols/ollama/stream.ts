/** NDJSON: the line we write when a stream fails after its first byte. */

export const ndjsonError = (message: string) => `${JSON.stringify({ error: message })}\n`
