/** The built-in probe plugins, for the registry in plugins/index.ts. */
import nvidiaSmiProbe from './nvidia-smi-probe/index.ts'
import ollamaProbe from './ollama-probe/index.ts'
import openaiProbe from './openai-probe/index.ts'

export const probePlugins = [ollamaProbe, openaiProbe, nvidiaSmiProbe] as const
