/** `import path from './x.jsonl' with { type: 'file' }`: Bun gives the file's path (an embedded copy's in the binary). */
declare module '*.jsonl' {
  const path: string
  export default path
}
