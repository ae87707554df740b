/** Templates of the code in simulated answers: the shared vocabulary, and small valid units for the scripting and query languages. */

/** The identifiers and literals one unit is filled with. */
export interface Names {
  readonly snake: string
  readonly camel: string
  readonly pascal: string
  readonly cls: string
  readonly one: string
  readonly many: string
  readonly manyPascal: string
  readonly k: number
  readonly s: string
}

export type Unit = (n: Names) => string

export const NOUNS = [
  ['item', 'items'], ['entry', 'entries'], ['token', 'tokens'], ['event', 'events'], ['line', 'lines'], ['task', 'tasks'],
  ['order', 'orders'], ['user', 'users'], ['packet', 'packets'], ['row', 'rows'], ['job', 'jobs'], ['message', 'messages'],
] as const
export const VERBS = ['parse', 'count', 'filter', 'merge', 'group', 'collect', 'normalize', 'load', 'validate', 'summarize', 'dedupe', 'sort'] as const
export const CLASS_SUFFIXES = ['Store', 'Index', 'Queue', 'Registry', 'Buffer', 'Tracker'] as const
export const LABELS = ['ready', 'pending', 'active', 'archived', 'default', 'primary', 'draft'] as const

export const capital = (word: string) => word.charAt(0).toUpperCase() + word.slice(1)

export const PYTHON: readonly Unit[] = [
  (n) => `def ${n.snake}(${n.many}, limit=${n.k}):
    """Keep the first ${n.many} that are not empty."""
    result = []
    for ${n.one} in ${n.many}:
        if ${n.one} is not None and ${n.one} != "":
            result.append(${n.one})
    return result[:limit]`,
  (n) => `def ${n.snake}(${n.many}):
    """Count each ${n.one} and return the most common first."""
    counts = {}
    for ${n.one} in ${n.many}:
        counts[${n.one}] = counts.get(${n.one}, 0) + 1
    return sorted(counts.items(), key=lambda pair: pair[1], reverse=True)`,
  (n) => `class ${n.cls}:
    """Keeps ${n.many} in the order they arrive."""

    def __init__(self, name="${n.s}"):
        self.name = name
        self.${n.many} = []

    def add(self, ${n.one}):
        self.${n.many}.append(${n.one})
        return len(self.${n.many})`,
  (n) => `def ${n.snake}(text, sep=","):
    """Split text into ${n.many} and drop the blank ones."""
    ${n.many} = [part.strip() for part in text.split(sep)]
    return [${n.one} for ${n.one} in ${n.many} if ${n.one}]`,
]

export const TYPESCRIPT: readonly Unit[] = [
  (n) => `export function ${n.camel}(${n.many}: readonly string[], limit = ${n.k}): string[] {
  const result: string[] = []
  for (const ${n.one} of ${n.many}) {
    if (${n.one}.trim() !== '') result.push(${n.one})
  }
  return result.slice(0, limit)
}`,
  (n) => `export function ${n.camel}(${n.many}: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const ${n.one} of ${n.many}) counts.set(${n.one}, (counts.get(${n.one}) ?? 0) + 1)
  return counts
}`,
  (n) => `export class ${n.cls} {
  private readonly ${n.many}: string[] = []

  constructor(readonly name = '${n.s}') {}

  add(${n.one}: string): number {
    this.${n.many}.push(${n.one})
    return this.${n.many}.length
  }
}`,
  (n) => `export function ${n.camel}(text: string, sep = ','): string[] {
  return text
    .split(sep)
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
}`,
]

export const JAVASCRIPT: readonly Unit[] = [
  (n) => `export function ${n.camel}(${n.many}, limit = ${n.k}) {
  const result = []
  for (const ${n.one} of ${n.many}) {
    if (String(${n.one}).trim() !== '') result.push(${n.one})
  }
  return result.slice(0, limit)
}`,
  (n) => `export function ${n.camel}(${n.many}) {
  const counts = new Map()
  for (const ${n.one} of ${n.many}) counts.set(${n.one}, (counts.get(${n.one}) ?? 0) + 1)
  return counts
}`,
  (n) => `export class ${n.cls} {
  #${n.many} = []

  constructor(name = '${n.s}') {
    this.name = name
  }

  add(${n.one}) {
    this.#${n.many}.push(${n.one})
    return this.#${n.many}.length
  }
}`,
  (n) => `export function ${n.camel}(text, sep = ',') {
  return text
    .split(sep)
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
}`,
]

export const RUBY: readonly Unit[] = [
  (n) => `def ${n.snake}(${n.many}, limit = ${n.k})
  ${n.many}.reject { |${n.one}| ${n.one}.nil? || ${n.one}.empty? }.first(limit)
end`,
  (n) => `class ${n.cls}
  attr_reader :name

  def initialize(name = "${n.s}")
    @name = name
    @${n.many} = []
  end

  def add(${n.one})
    @${n.many} << ${n.one}
    @${n.many}.size
  end
end`,
]

export const PHP: readonly Unit[] = [
  (n) => `function ${n.camel}(array $${n.many}, int $limit = ${n.k}): array
{
    $result = array_filter($${n.many}, fn($${n.one}) => $${n.one} !== "");
    return array_slice($result, 0, $limit);
}`,
  (n) => `class ${n.cls}
{
    private array $${n.many} = [];

    public function __construct(private string $name = "${n.s}")
    {
    }

    public function add(string $${n.one}): int
    {
        $this->${n.many}[] = $${n.one};
        return count($this->${n.many});
    }
}`,
]

export const SQL: readonly Unit[] = [
  (n) => `SELECT ${n.one}_id, COUNT(*) AS total
FROM ${n.many}
WHERE status = '${n.s}'
GROUP BY ${n.one}_id
ORDER BY total DESC
LIMIT ${n.k};`,
  (n) => `CREATE TABLE ${n.many} (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    status TEXT DEFAULT '${n.s}',
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);`,
  (n) => `UPDATE ${n.many}
SET status = '${n.s}'
WHERE id IN (SELECT ${n.one}_id FROM ${n.many}_archive);`,
]

export const BASH: readonly Unit[] = [
  (n) => `${n.snake}() {
  local dir="\${1:-.}"
  find "$dir" -type f -name '*.log' | while read -r file; do
    echo "${n.s}: $file"
  done
}`,
  (n) => `${n.snake}() {
  local count=0
  for file in "$@"; do
    if [ -s "$file" ]; then
      count=$((count + 1))
    fi
  done
  echo "$count"
}`,
]
