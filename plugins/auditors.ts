/** The built-in auditor plugins, in the order the registry lists them. */
import heuristicAuditor from './heuristic-auditor/index.ts'
import llmAuditor from './llm-auditor/index.ts'

export const auditorPlugins = [heuristicAuditor, llmAuditor] as const
