/** The built-in classifier plugins, in the order the registry lists them. */
import keywordClassifier from './keyword-classifier/index.ts'

export const classifierPlugins = [keywordClassifier] as const
