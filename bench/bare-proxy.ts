/** The floor: a few-line Bun proxy that forwards the request body upstream and streams the answer back. */
import { parseArgs } from 'node:util'

const { values } = parseArgs({ args: Bun.argv.slice(2), options: { port: { type: 'string', default: '0' }, upstream: { type: 'string', default: 'http://127.0.0.1:11434' } } })
const upstream = values.upstream.replace(/\/+$/, '')

const server = Bun.serve({
  port: Number(values.port),
  hostname: '127.0.0.1',
  idleTimeout: 0,
  development: false,
  async fetch(req) {
    const path = req.url.slice(req.url.indexOf('/', 8))
    const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : await req.arrayBuffer()
    const headers = { 'content-type': 'application/json', 'accept-encoding': 'identity' }
    const res = await fetch(upstream + path, { method: req.method, body, headers, decompress: false })
    const out = new Headers(res.headers)
    out.delete('content-encoding')
    out.delete('content-length')
    return new Response(res.body, { status: res.status, headers: out })
  },
})
console.log(`bare proxy listening on ${server.url} -> ${upstream}`)
