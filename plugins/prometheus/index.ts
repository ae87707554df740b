/** `prometheus`: request, token, routing, cache, backend and GPU metrics at `GET /metrics` (text format 0.0.4). */
import * as v from 'valibot'
import { definePlugin } from 'switchyard/plugin'
import { createGatewayMetrics } from './metrics.ts'
import { CONTENT_TYPE } from './registry.ts'

export default definePlugin({
  name: 'prometheus',
  kind: 'telemetry',
  options: v.strictObject({
    path: v.optional(v.pipe(v.string(), v.startsWith('/')), '/metrics'),
    /** Metric name prefix (`switchyard_requests_total`). */
    prefix: v.optional(v.pipe(v.string(), v.regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/)), 'switchyard'),
  }),
  setup({ options, gateway, keep }) {
    // Counters carry on across config reloads (a reset would read as a restart to rate() and increase()).
    const metrics = keep(`metrics ${options.prefix}`, () => createGatewayMetrics(options.prefix))
    return {
      observe: (event) => metrics.observe(event, gateway.costPerGpuHour),
      routes: [
        {
          method: 'GET',
          path: options.path,
          handle: () => new Response(metrics.render(gateway.health?.(), gateway.counters?.()), { headers: { 'content-type': CONTENT_TYPE } }),
        },
      ],
    }
  },
})
