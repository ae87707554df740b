/** A local OTLP/HTTP sink for the bench: accepts POST /v1/traces (and any other signal), counts, answers 200. */
import { parseArgs } from 'node:util'

const { values } = parseArgs({ args: Bun.argv.slice(2), options: { port: { type: 'string', default: '0' } } })
let exports = 0
let bytes = 0

const server = Bun.serve({
  port: Number(values.port),
  hostname: '127.0.0.1',
  development: false,
  async fetch(req) {
    const path = new URL(req.url).pathname
    if (req.method === 'GET' && path === '/stats') return Response.json({ exports, bytes })
    if (req.method !== 'POST') return new Response('method not allowed', { status: 405 })
    bytes += (await req.arrayBuffer()).byteLength
    exports++
    // An empty ExportTraceServiceResponse: `{}` for JSON, zero bytes for protobuf.
    const json = req.headers.get('content-type')?.includes('json')
    return json ? Response.json({}) : new Response(new Uint8Array(), { headers: { 'content-type': 'application/x-protobuf' } })
  },
})
console.log(`otlp sink listening on ${server.url}`)
