/** `bun run feedback --request-id ID --label CLASS | --verdict V`: a correction for one recorded decision, sent to a running gateway. */
import { parseArgs } from 'node:util'
import { messageOf } from '../src/errors.ts'

const USAGE = `usage: bun run feedback --request-id ID (--label SIMPLE|MODERATE|COMPLEX | --verdict too-weak|too-strong|good) [--url URL] [--key KEY]
  --request-id ID  the x-switchyard-request-id header of the answer
  --label CLASS    the class the request should have had
  --verdict V      too-weak (one class up), too-strong (one class down) or good (confirms the class)
  --url URL        the gateway (default: $SWITCHYARD_URL, http://127.0.0.1:3333)
  --key KEY        the admin key, or the client key that made the request (default: $SWITCHYARD_ADMIN_KEY, $SWITCHYARD_API_KEY)`

async function main(): Promise<number> {
  let values
  try {
    values = parseArgs({
      options: {
        'request-id': { type: 'string' }, label: { type: 'string' }, verdict: { type: 'string' }, url: { type: 'string' },
        key: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values
  } catch (error) {
    console.error(`${messageOf(error)}\n${USAGE}`)
    return 2
  }
  if (values.help) {
    console.log(USAGE)
    return 0
  }
  const requestId = values['request-id']
  if (!requestId || (values.label === undefined) === (values.verdict === undefined)) {
    console.error(`give --request-id and one of --label, --verdict\n${USAGE}`)
    return 2
  }
  const url = (values.url ?? process.env.SWITCHYARD_URL ?? 'http://127.0.0.1:3333').replace(/\/+$/, '')
  const key = values.key ?? process.env.SWITCHYARD_ADMIN_KEY ?? process.env.SWITCHYARD_API_KEY
  const body = values.label !== undefined ? { requestId, label: values.label.toUpperCase() } : { requestId, verdict: values.verdict }
  let res: Response
  try {
    res = await fetch(`${url}/router/feedback`, {
      method: 'POST', body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    })
  } catch (error) {
    console.error(`feedback: cannot reach ${url}: ${messageOf(error)}`)
    return 1
  }
  const answer = (await res.json().catch(() => ({}))) as { label?: string; error?: { message?: string } | string }
  if (!res.ok) {
    const message = typeof answer.error === 'string' ? answer.error : answer.error?.message
    console.error(`feedback: HTTP ${res.status}: ${message ?? 'no message'}`)
    return 1
  }
  console.log(`recorded: ${requestId} -> ${answer.label}`)
  return 0
}

if (import.meta.main) process.exit(await main())
