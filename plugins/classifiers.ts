/** The built-in classifier plugins, in the order the registry lists them. */
import cascadeClassifier from './cascade-classifier/index.ts'
import embeddingClassifier from './embedding-classifier/index.ts'
import heuristicClassifier from './heuristic-classifier/index.ts'
import keywordClassifier from './keyword-classifier/index.ts'
import learnedClassifier from './learned-classifier/index.ts'
import llmClassifier from './llm-classifier/index.ts'

export const classifierPlugins = [
  keywordClassifier, heuristicClassifier, learnedClassifier, embeddingClassifier, llmClassifier, cascadeClassifier,
] as const
