/** The built-in decision history plugins, for the registry in plugins/index.ts. */
import postgresHistory from './postgres-history/index.ts'
import sqliteHistory from './sqlite-history/index.ts'

export const historyPlugins = [sqliteHistory, postgresHistory] as const
