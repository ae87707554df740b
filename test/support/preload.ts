/** Test-process setup: gateways started without a `stateDir` keep their decision history in a temp folder, not the repo. */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

process.env.SWITCHYARD_STATE_DIR ??= mkdtempSync(join(tmpdir(), 'switchyard-test-state-'))
