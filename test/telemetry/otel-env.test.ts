/** The `otel` plugin's settings from the standard OTEL_* variables: one test per variable, options win, bad values warn. */
import { describe, expect, test } from 'bun:test'
import * as v from 'valibot'
import otel from '../../plugins/otel/index.ts'
import { OtelOptions, SAMPLERS, type TracingOptions } from '../../plugins/otel/options.ts'
import { type TracingOn, resolveTracingSettings } from '../../plugins/otel/settings.ts'

/** The settings and warnings for `env` (never process.env) and plugin options as a config would give them. */
function resolve(env: Record<string, string>, options: Record<string, unknown> = {}) {
  const warnings: string[] = []
  const { captureContent: _, ...tracing } = v.parse(OtelOptions, options)
  const settings = resolveTracingSettings(tracing satisfies TracingOptions, env, (w) => void warnings.push(w))
  return { settings, warnings }
}

/** Settings of a pipeline that is on (fails the test when it is off). */
function on(env: Record<string, string>, options: Record<string, unknown> = {}): { settings: TracingOn; warnings: string[] } {
  const { settings, warnings } = resolve(env, options)
  if (settings.off !== undefined) throw new Error(`tracing is off: ${settings.off}; warnings: ${warnings.join('; ')}`)
  return { settings, warnings }
}

const ENDPOINT = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }

describe('the defaults', () => {
  test('with nothing set tracing is off; with an endpoint every setting has the specification default and nothing is warned', () => {
    expect(resolve({})).toEqual({ settings: { off: 'no OTLP endpoint' }, warnings: [] })
    const { settings, warnings } = on(ENDPOINT)
    expect(warnings).toEqual([])
    expect(settings).toEqual({
      otlp: { url: 'http://collector:4318/v1/traces', protocol: 'http/protobuf', headers: {}, timeoutMs: 10_000, compression: 'none' },
      console: false,
      serviceName: 'switchyard',
      resourceAttributes: {},
      sampler: { name: 'parentbased_always_on' },
      batch: { scheduledDelayMillis: 5_000, exportTimeoutMillis: 30_000, maxQueueSize: 2_048, maxExportBatchSize: 512 },
    })
  })
})

describe('OTEL_SDK_DISABLED', () => {
  test('true in any case turns tracing off, even with an endpoint option', () => {
    expect(resolve({ ...ENDPOINT, OTEL_SDK_DISABLED: 'TRUE' }, { endpoint: 'http://collector:4318' }).settings).toEqual({ off: 'OTEL_SDK_DISABLED=true' })
    expect(on({ ...ENDPOINT, OTEL_SDK_DISABLED: 'false' }).warnings).toEqual([])
  })

  test('a value that is not true or false is warned about and tracing stays on', () => {
    const { warnings } = on({ ...ENDPOINT, OTEL_SDK_DISABLED: 'yes please' })
    expect(warnings).toEqual(['OTEL_SDK_DISABLED="yes please" is not "true" or "false"; using the default false'])
  })
})

describe('OTEL_SERVICE_NAME', () => {
  test('names the service; the serviceName option wins, and it wins over service.name in OTEL_RESOURCE_ATTRIBUTES', () => {
    expect(on({ ...ENDPOINT, OTEL_SERVICE_NAME: 'edge-gateway' }).settings.serviceName).toBe('edge-gateway')
    expect(on({ ...ENDPOINT, OTEL_SERVICE_NAME: 'edge-gateway' }, { serviceName: 'from-config' }).settings.serviceName).toBe('from-config')
    expect(on({ ...ENDPOINT, OTEL_SERVICE_NAME: 'edge-gateway', OTEL_RESOURCE_ATTRIBUTES: 'service.name=other' }).settings.serviceName).toBe('edge-gateway')
  })
})

describe('OTEL_RESOURCE_ATTRIBUTES', () => {
  test('percent-decoded key=value pairs; its service.name names the service when OTEL_SERVICE_NAME is unset', () => {
    const { settings, warnings } = on({ ...ENDPOINT, OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attrs, deployment.environment=staging,team=a%2Cb' })
    expect(warnings).toEqual([])
    expect(settings.resourceAttributes).toEqual({ 'service.name': 'from-attrs', 'deployment.environment': 'staging', team: 'a,b' })
    expect(settings.serviceName).toBe('from-attrs')
  })

  test('a malformed entry discards the whole value, as the SDK does, with a warning', () => {
    const { settings, warnings } = on({ ...ENDPOINT, OTEL_RESOURCE_ATTRIBUTES: 'service.name=x,broken' })
    expect(settings.resourceAttributes).toEqual({})
    expect(settings.serviceName).toBe('switchyard')
    expect(warnings).toEqual(['OTEL_RESOURCE_ATTRIBUTES: entry "broken" is not key=value (percent-encode "," and "="); using none of its attributes'])
  })
})

describe('OTEL_TRACES_EXPORTER', () => {
  test('none turns tracing off even with an endpoint; otlp named explicitly exports to the default localhost:4318', () => {
    expect(resolve({ ...ENDPOINT, OTEL_TRACES_EXPORTER: 'none' }).settings).toEqual({ off: 'OTEL_TRACES_EXPORTER=none' })
    expect(on({ OTEL_TRACES_EXPORTER: 'otlp' }).settings.otlp?.url).toBe('http://localhost:4318/v1/traces')
  })

  test('console prints spans without an endpoint, and can go with otlp', () => {
    const consoleOnly = on({ OTEL_TRACES_EXPORTER: 'console' }).settings
    expect(consoleOnly.console).toBe(true)
    expect(consoleOnly.otlp).toBeUndefined()
    const both = on({ ...ENDPOINT, OTEL_TRACES_EXPORTER: 'otlp, console' }).settings
    expect(both.console).toBe(true)
    expect(both.otlp?.url).toBe('http://collector:4318/v1/traces')
  })

  test('an unknown exporter is warned about and the default otlp is used; the exporter option wins', () => {
    const { settings, warnings } = on({ ...ENDPOINT, OTEL_TRACES_EXPORTER: 'zipkin' })
    expect(settings.otlp?.url).toBe('http://collector:4318/v1/traces')
    expect(warnings).toEqual(['OTEL_TRACES_EXPORTER="zipkin" is not one of otlp, console, none; using the default otlp'])
    expect(resolve({ ...ENDPOINT, OTEL_TRACES_EXPORTER: 'otlp' }, { exporter: 'none' }).settings).toEqual({ off: 'option exporter=none' })
  })
})

describe('OTEL_TRACES_SAMPLER', () => {
  test('each sampler the specification names is honoured; the sampler option wins', () => {
    for (const name of SAMPLERS) expect(on({ ...ENDPOINT, OTEL_TRACES_SAMPLER: name }).settings.sampler.name).toBe(name)
    expect(on({ ...ENDPOINT, OTEL_TRACES_SAMPLER: 'always_off' }, { sampler: 'always_on' }).settings.sampler).toEqual({ name: 'always_on' })
  })

  test('an unknown sampler is warned about and the default parentbased_always_on is used', () => {
    const { settings, warnings } = on({ ...ENDPOINT, OTEL_TRACES_SAMPLER: 'parentbased_jaeger_remote' })
    expect(settings.sampler).toEqual({ name: 'parentbased_always_on' })
    expect(warnings).toEqual([`OTEL_TRACES_SAMPLER="parentbased_jaeger_remote" is not one of ${SAMPLERS.join(', ')}; using the default parentbased_always_on`])
  })
})

describe('OTEL_TRACES_SAMPLER_ARG', () => {
  test('is the ratio of the traceidratio samplers (default 1) and is ignored by the others', () => {
    expect(on({ ...ENDPOINT, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }).settings.sampler).toEqual({ name: 'traceidratio', ratio: 0.25 })
    expect(on({ ...ENDPOINT, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio' }).settings.sampler).toEqual({ name: 'parentbased_traceidratio', ratio: 1 })
    expect(on({ ...ENDPOINT, OTEL_TRACES_SAMPLER: 'always_on', OTEL_TRACES_SAMPLER_ARG: 'nonsense' })).toEqual(on({ ...ENDPOINT, OTEL_TRACES_SAMPLER: 'always_on' }))
  })

  test('a ratio outside 0..1 or not a number is warned about and 1 is used; samplerArg and samplerRatio win', () => {
    const { settings, warnings } = on({ ...ENDPOINT, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '1.5' })
    expect(settings.sampler).toEqual({ name: 'traceidratio', ratio: 1 })
    expect(warnings).toEqual(['OTEL_TRACES_SAMPLER_ARG="1.5" is not a sampling ratio from 0 to 1; using the default 1'])
    const env = { ...ENDPOINT, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5' }
    expect(on(env, { samplerArg: 0.1 }).settings.sampler).toEqual({ name: 'traceidratio', ratio: 0.1 })
    expect(on(env, { samplerRatio: 0.2 }).settings.sampler).toEqual({ name: 'parentbased_traceidratio', ratio: 0.2 })
  })

  test('samplerRatio together with sampler or samplerArg is a config error on samplerRatio', () => {
    const result = v.safeParse(otel.options, { samplerRatio: 0.5, sampler: 'always_on' })
    expect(result.success).toBe(false)
    expect(result.issues?.[0]?.path?.map((p) => p.key)).toEqual(['samplerRatio'])
  })
})

describe('OTEL_BSP_SCHEDULE_DELAY', () => {
  test('sets how long spans wait in the batch; the scheduleDelayMs option wins', () => {
    expect(on({ ...ENDPOINT, OTEL_BSP_SCHEDULE_DELAY: '200' }).settings.batch.scheduledDelayMillis).toBe(200)
    expect(on({ ...ENDPOINT, OTEL_BSP_SCHEDULE_DELAY: '200' }, { scheduleDelayMs: 1_000 }).settings.batch.scheduledDelayMillis).toBe(1_000)
  })

  test('a value that is not a number of milliseconds is warned about with the default used', () => {
    const { settings, warnings } = on({ ...ENDPOINT, OTEL_BSP_SCHEDULE_DELAY: 'soon' })
    expect(settings.batch.scheduledDelayMillis).toBe(5_000)
    expect(warnings).toEqual(['OTEL_BSP_SCHEDULE_DELAY="soon" is not a number of milliseconds greater than 0; using the default 5000'])
  })
})

describe('OTEL_BSP_EXPORT_TIMEOUT', () => {
  test('sets the batch export deadline; exportTimeoutMs wins; a bad value warns and keeps 30000', () => {
    expect(on({ ...ENDPOINT, OTEL_BSP_EXPORT_TIMEOUT: '1500' }).settings.batch.exportTimeoutMillis).toBe(1_500)
    expect(on({ ...ENDPOINT, OTEL_BSP_EXPORT_TIMEOUT: '1500' }, { exportTimeoutMs: 900 }).settings.batch.exportTimeoutMillis).toBe(900)
    const { settings, warnings } = on({ ...ENDPOINT, OTEL_BSP_EXPORT_TIMEOUT: '-1' })
    expect(settings.batch.exportTimeoutMillis).toBe(30_000)
    expect(warnings).toEqual(['OTEL_BSP_EXPORT_TIMEOUT="-1" is not a number of milliseconds greater than 0; using the default 30000'])
  })
})

describe('OTEL_BSP_MAX_QUEUE_SIZE', () => {
  test('sets the queue size; maxQueueSize wins; a fraction warns and keeps 2048', () => {
    expect(on({ ...ENDPOINT, OTEL_BSP_MAX_QUEUE_SIZE: '10000' }).settings.batch.maxQueueSize).toBe(10_000)
    // The default batch size shrinks to a smaller queue without a warning.
    expect(on({ ...ENDPOINT, OTEL_BSP_MAX_QUEUE_SIZE: '10000' }, { maxQueueSize: 64 })).toMatchObject({ settings: { batch: { maxQueueSize: 64, maxExportBatchSize: 64 } }, warnings: [] })
    const { settings, warnings } = on({ ...ENDPOINT, OTEL_BSP_MAX_QUEUE_SIZE: '99.5' })
    expect(settings.batch.maxQueueSize).toBe(2_048)
    expect(warnings).toEqual(['OTEL_BSP_MAX_QUEUE_SIZE="99.5" is not a whole number greater than 0; using the default 2048'])
  })
})

describe('OTEL_BSP_MAX_EXPORT_BATCH_SIZE', () => {
  test('sets the batch size; maxExportBatchSize wins; larger than the queue warns and uses the queue size', () => {
    expect(on({ ...ENDPOINT, OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '128' }).settings.batch.maxExportBatchSize).toBe(128)
    expect(on({ ...ENDPOINT, OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '128' }, { maxExportBatchSize: 32 }).settings.batch.maxExportBatchSize).toBe(32)
    const { settings, warnings } = on({ ...ENDPOINT, OTEL_BSP_MAX_QUEUE_SIZE: '100', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '500' })
    expect(settings.batch).toMatchObject({ maxQueueSize: 100, maxExportBatchSize: 100 })
    expect(warnings).toEqual(['OTEL_BSP_MAX_EXPORT_BATCH_SIZE 500 is larger than the queue (maxQueueSize 100); using 100'])
  })
})

describe('OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  test('is a base URL: /v1/traces is appended, after any path; the endpoint option wins', () => {
    expect(on({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example.com/ingest/' }).settings.otlp?.url).toBe('https://otel.example.com/ingest/v1/traces')
    expect(on(ENDPOINT, { endpoint: 'http://jaeger:4318' }).settings.otlp?.url).toBe('http://jaeger:4318/v1/traces')
  })

  test('a value that is not a URL is warned about and OTLP export stays off', () => {
    const { settings, warnings } = resolve({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })
    expect(settings).toEqual({ off: 'no OTLP endpoint' })
    expect(warnings).toEqual(['OTEL_EXPORTER_OTLP_ENDPOINT="collector:4318" is not an http(s) URL; using none (OTLP export off)'])
  })
})

describe('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', () => {
  test('is used as-is and wins over the generic endpoint; the endpoint option wins over both', () => {
    const env = { ...ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:9999/custom/path' }
    expect(on(env).settings.otlp?.url).toBe('http://traces:9999/custom/path')
    expect(on({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:9999' }).settings.otlp?.url).toBe('http://traces:9999/')
    expect(on(env, { endpoint: 'http://jaeger:4318' }).settings.otlp?.url).toBe('http://jaeger:4318/v1/traces')
  })

  test('an invalid value is warned about and the generic endpoint is used', () => {
    const { settings, warnings } = on({ ...ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'not a url' })
    expect(settings.otlp?.url).toBe('http://collector:4318/v1/traces')
    expect(warnings).toEqual(['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="not a url" is not an http(s) URL; using OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318/v1/traces'])
  })
})

describe('OTEL_EXPORTER_OTLP_PROTOCOL', () => {
  test('http/json and http/protobuf are honoured; the protocol option wins', () => {
    expect(on({ ...ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).settings.otlp?.protocol).toBe('http/json')
    expect(on({ ...ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, { protocol: 'http/protobuf' }).settings.otlp?.protocol).toBe('http/protobuf')
  })

  test('grpc is answered with a clear warning and http/protobuf', () => {
    const { settings, warnings } = on({ ...ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })
    expect(settings.otlp?.protocol).toBe('http/protobuf')
    expect(warnings).toEqual([
      'OTEL_EXPORTER_OTLP_PROTOCOL="grpc" is not supported: the gateway exports OTLP over HTTP only (point the endpoint at the collector\'s OTLP/HTTP port, usually 4318); using the default http/protobuf',
    ])
  })
})

describe('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', () => {
  test('wins over the generic protocol; an unknown value warns and falls back to the generic one', () => {
    expect(on({ ...ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' }).settings.otlp?.protocol).toBe('http/json')
    const { settings, warnings } = on({ ...ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/xml' })
    expect(settings.otlp?.protocol).toBe('http/json')
    expect(warnings).toEqual(['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL="http/xml" is not one of http/protobuf, http/json; using OTEL_EXPORTER_OTLP_PROTOCOL=http/json'])
  })
})

describe('OTEL_EXPORTER_OTLP_HEADERS', () => {
  test('percent-decoded key=value pairs; an entry that is not one is left out with a warning', () => {
    const { settings, warnings } = on({ ...ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=team-a,authorization=Basic%20dXNlcjpwdw%3D%3D,junk' })
    expect(settings.otlp?.headers).toEqual({ 'x-tenant': 'team-a', authorization: 'Basic dXNlcjpwdw==' })
    expect(warnings).toEqual(['OTEL_EXPORTER_OTLP_HEADERS: entry "junk" is not a header as key=value; left out'])
  })
})

describe('OTEL_EXPORTER_OTLP_TRACES_HEADERS', () => {
  test('adds to the generic headers and wins per key; the headers option wins over both', () => {
    const env = { ...ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=team-a,x-region=eu', OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-tenant=team-b' }
    expect(on(env).settings.otlp?.headers).toEqual({ 'x-tenant': 'team-b', 'x-region': 'eu' })
    expect(on(env, { headers: { 'x-region': 'us' } }).settings.otlp?.headers).toEqual({ 'x-tenant': 'team-b', 'x-region': 'us' })
  })
})

describe('OTEL_EXPORTER_OTLP_TIMEOUT', () => {
  test('sets the export request timeout; timeoutMs wins; zero warns and keeps 10000', () => {
    expect(on({ ...ENDPOINT, OTEL_EXPORTER_OTLP_TIMEOUT: '2500' }).settings.otlp?.timeoutMs).toBe(2_500)
    expect(on({ ...ENDPOINT, OTEL_EXPORTER_OTLP_TIMEOUT: '2500' }, { timeoutMs: 700 }).settings.otlp?.timeoutMs).toBe(700)
    const { settings, warnings } = on({ ...ENDPOINT, OTEL_EXPORTER_OTLP_TIMEOUT: '0' })
    expect(settings.otlp?.timeoutMs).toBe(10_000)
    expect(warnings).toEqual(['OTEL_EXPORTER_OTLP_TIMEOUT="0" is not a number of milliseconds greater than 0; using the default 10000'])
  })
})

describe('OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', () => {
  test('wins over the generic timeout', () => {
    expect(on({ ...ENDPOINT, OTEL_EXPORTER_OTLP_TIMEOUT: '2500', OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '4000' }).settings.otlp?.timeoutMs).toBe(4_000)
  })
})

describe('OTEL_EXPORTER_OTLP_COMPRESSION', () => {
  test('gzip or none; compression option wins; another value warns and keeps none', () => {
    expect(on({ ...ENDPOINT, OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' }).settings.otlp?.compression).toBe('gzip')
    expect(on({ ...ENDPOINT, OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' }, { compression: 'none' }).settings.otlp?.compression).toBe('none')
    const { settings, warnings } = on({ ...ENDPOINT, OTEL_EXPORTER_OTLP_COMPRESSION: 'zstd' })
    expect(settings.otlp?.compression).toBe('none')
    expect(warnings).toEqual(['OTEL_EXPORTER_OTLP_COMPRESSION="zstd" is not gzip or none; using the default none'])
  })
})

describe('OTEL_EXPORTER_OTLP_TRACES_COMPRESSION', () => {
  test('wins over the generic compression', () => {
    expect(on({ ...ENDPOINT, OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip', OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'none' }).settings.otlp?.compression).toBe('none')
  })
})
