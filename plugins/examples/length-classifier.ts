/** Example custom classifier: routes by prompt length. Load it with `{ "use": "./plugins/examples/length-classifier.ts" }`. */
import * as v from 'valibot'
import { definePlugin } from 'switchyard/plugin'

export default definePlugin({
  name: 'length-classifier',
  kind: 'classifier',
  options: v.strictObject({
    simpleBelow: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 200),
    complexAbove: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 4_000),
  }),
  setup: ({ options: { simpleBelow, complexAbove } }) => ({
    classify({ messages }) {
      const chars = messages.reduce((sum, m) => sum + m.content.length, 0)
      const label = chars < simpleBelow ? 'SIMPLE' : chars > complexAbove ? 'COMPLEX' : 'MODERATE'
      return {
        label,
        confidence: 0.9,
        scores: { SIMPLE: 0.05, MODERATE: 0.05, COMPLEX: 0.05, [label]: 0.9 },
        reasons: [`prompt is ${chars} characters`],
      }
    },
  }),
})
