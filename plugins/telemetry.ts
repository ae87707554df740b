/** The built-in telemetry plugins, for the registry in plugins/index.ts. */
import otel from './otel/index.ts'
import prometheus from './prometheus/index.ts'

export const telemetryPlugins = [otel, prometheus] as const
