/** Serves `switchyard/plugin` and `valibot` to plugin and config files the standalone binary loads from disk. */
import * as v from 'valibot'
import * as sdk from '../plugin/index.ts'

/**
 * A file named by path in the config is imported at run time, and inside the binary its bare imports find no
 * `node_modules`; these virtual modules answer them with the SDK and valibot the binary was built with, so a user
 * plugin shares the gateway's copies (one `TASK_CLASSES`, one valibot). Register before the first user file loads.
 */
export function serveSdkModules(): void {
  Bun.plugin({
    name: 'switchyard-sdk-modules',
    setup(build) {
      build.module('switchyard/plugin', () => ({ exports: { ...sdk }, loader: 'object' }))
      build.module('valibot', () => ({ exports: { ...v }, loader: 'object' }))
    },
  })
}
