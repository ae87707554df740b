/** Templates and fillers for the coverage-gap supplement (scripts/make-supplement.ts): written for switchyard, MIT. */
import type { TaskClass } from 'switchyard/plugin'

/** A phrasing of one request kind; `{name}` slots are filled from the pools below. */
export interface Template {
  readonly id: string
  readonly label: TaskClass
  readonly task: string
  /** Train and test templates are different phrasings: the test file measures unseen wording. */
  readonly split: 'train' | 'test'
  readonly text: string
}

/** A short pasted snippet and the names a template can refer to. */
export interface Snippet { readonly lang: string; readonly fence: string; readonly fn: string; readonly v: string; readonly code: string }

export const SNIPPETS: readonly Snippet[] = [
  { lang: 'Python', fence: 'python', fn: 'area', v: 'w', code: 'def area(w, h):\n    return w * h' },
  { lang: 'JavaScript', fence: 'js', fn: 'sum', v: 'acc', code: 'function sum(xs) {\n  let acc = 0\n  for (const x of xs) acc += x\n  return acc\n}' },
  { lang: 'Go', fence: 'go', fn: 'Max', v: 'm', code: 'func Max(a []int) int {\n\tm := a[0]\n\tfor _, x := range a {\n\t\tif x > m {\n\t\t\tm = x\n\t\t}\n\t}\n\treturn m\n}' },
  { lang: 'TypeScript', fence: 'ts', fn: 'slugify', v: 's', code: "export function slugify(s: string): string {\n  return s.toLowerCase().trim().replace(/[^a-z0-9]+/g, '-')\n}" },
  { lang: 'Python', fence: 'python', fn: 'load_config', v: 'f', code: 'def load_config(path):\n    with open(path) as f:\n        return json.load(f)' },
  { lang: 'Rust', fence: 'rust', fn: 'mean', v: 'total', code: 'fn mean(xs: &[f64]) -> f64 {\n    let total: f64 = xs.iter().sum();\n    total / xs.len() as f64\n}' },
  { lang: 'Java', fence: 'java', fn: 'isEven', v: 'n', code: 'public static boolean isEven(int n) {\n    return n % 2 == 0;\n}' },
  { lang: 'Python', fence: 'python', fn: 'dedupe', v: 'seen', code: 'def dedupe(items):\n    seen = set()\n    out = []\n    for x in items:\n        if x not in seen:\n            seen.add(x)\n            out.append(x)\n    return out' },
  { lang: 'JavaScript', fence: 'js', fn: 'formatPrice', v: 'cents', code: "const formatPrice = (cents) => '$' + (cents / 100).toFixed(2)" },
  { lang: 'Ruby', fence: 'ruby', fn: 'greet', v: 'name', code: 'def greet(name)\n  "Hello, #{name}!"\nend' },
  { lang: 'C#', fence: 'csharp', fn: 'Clamp', v: 'value', code: 'static int Clamp(int value, int lo, int hi) {\n    return Math.Min(Math.Max(value, lo), hi);\n}' },
  { lang: 'Python', fence: 'python', fn: 'word_count', v: 'counts', code: 'def word_count(text):\n    counts = {}\n    for word in text.split():\n        counts[word] = counts.get(word, 0) + 1\n    return counts' },
  { lang: 'Kotlin', fence: 'kotlin', fn: 'initials', v: 'parts', code: 'fun initials(name: String): String {\n    val parts = name.split(" ")\n    return parts.map { it.first() }.joinToString("")\n}' },
  { lang: 'TypeScript', fence: 'ts', fn: 'chunk', v: 'size', code: 'function chunk<T>(xs: T[], size: number): T[][] {\n  const out: T[][] = []\n  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size))\n  return out\n}' },
  { lang: 'Go', fence: 'go', fn: 'Reverse', v: 'r', code: 'func Reverse(s string) string {\n\tr := []rune(s)\n\tfor i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {\n\t\tr[i], r[j] = r[j], r[i]\n\t}\n\treturn string(r)\n}' },
]

/** Short snippets with a concurrency bug: pasted context for COMPLEX debugging requests. */
export const RACY_SNIPPETS: readonly Snippet[] = [
  { lang: 'Go', fence: 'go', fn: 'Inc', v: 'hits', code: 'var hits = map[string]int{}\n\nfunc Inc(k string) {\n\tgo func() { hits[k]++ }()\n}' },
  { lang: 'Python', fence: 'python', fn: 'transfer', v: 'lock_a', code: 'def transfer(a, b, amount):\n    with a.lock:\n        with b.lock:\n            a.balance -= amount\n            b.balance += amount' },
  { lang: 'Java', fence: 'java', fn: 'getInstance', v: 'instance', code: 'public static Cache getInstance() {\n    if (instance == null) {\n        instance = new Cache();\n    }\n    return instance;\n}' },
  { lang: 'TypeScript', fence: 'ts', fn: 'reserve', v: 'stock', code: 'async function reserve(id: string) {\n  const stock = await db.get(id)\n  if (stock > 0) await db.set(id, stock - 1)\n}' },
  { lang: 'Rust', fence: 'rust', fn: 'worker', v: 'rx', code: 'fn worker(rx: Arc<Mutex<Receiver<Job>>>) {\n    loop {\n        let job = rx.lock().unwrap().recv().unwrap();\n        job.run();\n    }\n}' },
  { lang: 'Python', fence: 'python', fn: 'get_or_create', v: 'cache', code: 'async def get_or_create(key):\n    if key not in cache:\n        cache[key] = await fetch(key)\n    return cache[key]' },
  { lang: 'Go', fence: 'go', fn: 'Drain', v: 'done', code: 'func Drain(jobs chan Job, done chan bool) {\n\tfor j := range jobs {\n\t\tgo j.Run()\n\t}\n\tclose(done)\n\tclose(done)\n}' },
  { lang: 'Java', fence: 'java', fn: 'increment', v: 'count', code: 'private int count = 0;\n\npublic void increment() {\n    new Thread(() -> count++).start();\n}' },
  { lang: 'Python', fence: 'python', fn: 'worker', v: 'results', code: 'results = []\n\ndef worker(q):\n    while not q.empty():\n        item = q.get()\n        results.append(process(item))' },
  { lang: 'C#', fence: 'csharp', fn: 'GetUser', v: 'cache', code: 'public User GetUser(int id) {\n    if (!cache.ContainsKey(id))\n        cache[id] = LoadUserAsync(id).Result;\n    return cache[id];\n}' },
  { lang: 'JavaScript', fence: 'js', fn: 'refreshToken', v: 'token', code: 'let token = null\n\nasync function refreshToken() {\n  if (!token || token.expired) token = await fetchToken()\n  return token\n}' },
  { lang: 'Kotlin', fence: 'kotlin', fn: 'add', v: 'items', code: 'val items = mutableListOf<String>()\n\nfun add(x: String) = GlobalScope.launch {\n    items.add(x)\n}' },
  { lang: 'Go', fence: 'go', fn: 'Get', v: 'mu', code: 'func (c *Cache) Get(k string) string {\n\tc.mu.RLock()\n\tif v, ok := c.m[k]; ok {\n\t\treturn v\n\t}\n\tc.mu.Lock()\n\tdefer c.mu.Unlock()\n\treturn c.load(k)\n}' },
  { lang: 'Rust', fence: 'rust', fn: 'bump', v: 'counter', code: 'static mut COUNTER: u32 = 0;\n\nfn bump() {\n    thread::spawn(|| unsafe { COUNTER += 1 });\n}' },
  { lang: 'Python', fence: 'python', fn: 'next_id', v: 'current', code: 'current = 0\n\ndef next_id():\n    global current\n    value = current\n    current = value + 1\n    return value' },
]

export const POOLS: Readonly<Record<string, readonly string[]>> = {
  lang2: ['Go', 'Rust', 'TypeScript', 'Python', 'Java', 'Kotlin', 'Swift', 'C#', 'Ruby'],
  newvar: ['total', 'result', 'count', 'items', 'value', 'buffer', 'user_name', 'retries', 'limit'],
  typo: ['Could not conect to the databse', 'Invalid pasword, plese try again', 'Recieved an unexpected respone',
    'File not foud: check the pth', 'Succesfully saved you changes', 'The sesion has expried', 'Unable to parse the adress',
    'Acess denied for this acount', 'Conection timed out after 30 secods',
    'Unexpected end of inptu', 'Please enter a vaild email', 'Too many requets, slow down', 'Your acount has been lcoked', 'Paymnet could not be processed', 'Missing requried field: name'],
  api: ['`str.split()` with no arguments', '`Array.prototype.indexOf` when nothing matches', "Python's `dict.get` for a missing key",
    '`len()` of an empty string', '`Math.round(2.5)` in JavaScript', '`os.path.join("a", "/b")`', '`[].pop()` in Python',
    '`parseInt("08")`', "Go's `strings.Index` when the substring is absent", '`list.sort()` in Python', '`Object.keys` on an array',
    "Rust's `Vec::pop` on an empty vector",
    '`"abc".find("z")` in Python', '`Array.isArray(null)`', '`typeof NaN` in JavaScript', '`int("3.5")` in Python'],
  line: ['x = [i * i for i in range(10) if i % 2]', 'const ids = users.map(u => u.id).filter(Boolean)', 'return a if a > b else b',
    'df = df.dropna(subset=["price"])', 'names.sort(key=str.lower)', 'let total = items.reduce((s, x) => s + x.qty, 0)',
    'if err != nil { return nil, err }', 'print(*rows, sep="\\n")', 'SELECT COUNT(DISTINCT user_id) FROM visits',
    'export default { ...base, debug: true }', 'grep -rn TODO src | wc -l', 'nums[::-1]',
    'const [first, ...rest] = parts', 'with open(p) as f: data = f.read()', 'git log --oneline -n 5', 'squares = dict((x, x ** 2) for x in xs)'],
  concept: ['a mutex', 'a closure', 'idempotency', 'a race condition', 'a hash map', 'a deadlock', 'recursion', 'a REST API',
    'a thread pool', 'memoization', 'a foreign key', 'a load balancer', 'eventual consistency', 'a semaphore',
    'deadline propagation', 'a memory leak', 'a database index', 'a pure function'],
  pair: ['`==` and `is` in Python', '`let` and `const` in JavaScript', 'a list and a tuple in Python', 'an interface and a type alias in TypeScript',
    'a slice and an array in Go', '`String` and `&str` in Rust', '`map` and `forEach` in JavaScript', 'a process and a thread in operating systems',
    '`append` and `extend` in Python', 'a struct and a class in C#', 'TCP and UDP in networking', '`git merge` and `git rebase` in git'],
  howto: ['reverse a string', 'read an environment variable', 'get the current timestamp', 'check if a file exists',
    'convert a string to an integer', 'remove duplicates from a list', 'get the length of an array', 'lowercase a string',
    'sleep for one second', 'join a list of strings with commas', 'parse a JSON string', 'get the last element of a list'],
  msg: ['user not found', 'retrying in 5 seconds', 'cache miss', 'invalid input', 'upload complete', 'rate limit reached'],
  edge: ['the input is empty', 'the input is None', 'it gets a negative number', 'the list has one element', 'both values are equal'],
  spec: ['parse a duration string like "1h30m" into seconds', 'merge overlapping intervals in a list of pairs',
    'validate an IPv4 address', 'return the n-th Fibonacci number iteratively', 'flatten a nested list of any depth',
    'group a list of records by a key and count each group', 'convert a Roman numeral to an integer',
    'check whether two strings are anagrams', 'compute the moving average of a list with window k',
    'find the longest common prefix of a list of strings', 'turn a snake_case string into camelCase',
    'return the k most frequent words in a text', 'rotate a matrix 90 degrees clockwise', 'parse a query string into a dictionary',
    'compute the Levenshtein distance between two words', 'chunk a list into pieces of size n', 'format a byte count as KB, MB or GB',
    'check whether a string of brackets is balanced'],
  cli: ['reads a CSV file and prints the average of each numeric column', 'renames every .jpeg file in a folder to .jpg',
    'counts lines of code per file extension in a directory', 'downloads a URL and prints the HTTP status and size',
    'finds duplicate files in a folder by hash', 'prints the ten largest files under a directory', 'converts a JSON file to YAML',
    'tails a log file and highlights lines containing ERROR', 'splits a large text file into parts of 1000 lines',
    'prints the git authors of a repo sorted by commits', 'merges two CSV files on an id column', 'watches a folder and gzips new files', 'checks a list of URLs and reports the broken ones', 'extracts all email addresses from a text file', 'prints a histogram of word lengths in a file'],
  sqlspec: ['returns the top five customers by total order value', 'counts signups per day for the last 30 days',
    'finds users who never placed an order', 'lists products whose price changed in the last week',
    'computes each employee salary as a share of their department total', 'returns the second highest salary',
    'returns the average order value per country', 'deletes duplicate rows keeping the lowest id', 'lists customers with more than three orders this year', 'finds the busiest hour of the day in the logs table', 'shows monthly revenue with a running total', 'returns orders that have no matching payment', 'counts active users per plan', 'finds the most recent login per user', 'lists departments with no employees'],
  system: ['distributed job scheduler', 'multi-tenant notification service', 'real-time collaborative text editor backend',
    'global leaderboard', 'URL shortener with analytics', 'feature-flag service', 'chat system with presence and read receipts',
    'metrics ingestion pipeline', 'payment ledger', 'video transcoding pipeline', 'search autocomplete service',
    'distributed lock service', 'webhook delivery system with retries', 'inventory reservation service', 'news feed ranking backend',
    'ticket booking system for concerts', 'ride-matching service', 'multi-region object storage gateway'],
  context: ['a SaaS product with 5 million users', 'an e-commerce site during flash sales', 'a bank that needs an audit trail',
    'a mobile game with players on every continent', 'a marketplace spread across three regions', 'an IoT fleet of 2 million devices',
    'a B2B platform with strict tenant isolation', 'a startup expecting 100x growth next year'],
  scale: ['50k requests per second', '2 billion events a day', '100 million rows', '10k concurrent websocket connections',
    '1 TB of new data per day', '500 writes per second per tenant', '20 million daily active users', '300k messages per second'],
  module: ['billing', 'auth', 'notifications', 'search', 'checkout', 'reporting', 'ingestion', 'user-profile', 'scheduling', 'inventory', 'payments', 'catalog', 'shipping'],
  pattern: ['hexagonal ports and adapters', 'an event-driven design with a message bus', 'separate bounded contexts',
    'a pipeline of small composable stages', 'a clean layered architecture with repositories', 'independently deployable services',
    'a strategy-based design that supports new providers', 'a CQRS split of reads and writes'],
  goal: ['each payment provider can be swapped without touching the core', 'the business rules can be tested without a database',
    'two teams can work on it without merge conflicts', 'the synchronous calls become asynchronous jobs', 'it supports multiple tenants'],
  component: ['connection pool', 'worker pool', 'cache invalidation logic', 'order matching engine', 'session store',
    'file upload handler', 'background job runner', 'leader election code', 'websocket broadcaster', 'retry queue',
    'rate counter', 'distributed cron', 'pub/sub fan-out', 'read-through cache', 'payment settlement batch'],
  race: ['update the same account balance', 'refresh an expired token at the same time', 'write to the shared map',
    'acquire the two locks in opposite order', 'read a config while it is being reloaded', 'close the channel twice'],
  hotpath: ['search endpoint', 'checkout API', 'nightly reporting query', 'image resizing service', 'recommendation query',
    'JSON serialization layer', 'GraphQL resolver for the dashboard', 'event ingestion consumer', 'permission check on every request',
    'autocomplete lookup', 'CSV export job', 'feed generation worker', 'PDF rendering service', 'geo search query', 'billing reconciliation batch'],
  ms: ['50', '100', '200', '20', '10'],
  dataset: ['the orders table', 'user sessions', 'the events store', 'customer profiles', 'the audit log', 'product catalog'],
  store: ['Postgres', 'MySQL', 'MongoDB', 'DynamoDB', 'Cassandra', 'Redis', 'Elasticsearch', 'a single SQLite file'],
  store2: ['CockroachDB', 'Aurora', 'Spanner', 'a sharded Postgres cluster', 'ScyllaDB', 'ClickHouse', 'BigQuery'],
  authflow: ['OAuth login flow', 'password reset flow', 'API key handling', 'JWT session handling', 'file upload endpoint',
    'multi-tenant permission model', 'SSO integration', 'admin impersonation feature',
    'cookie and CSRF setup', 'webhook signature verification', 'secret storage in CI', 'GraphQL authorization layer', 'session fixation defenses', 'password hashing scheme', 'S3 bucket access policy'],
  domain: ['order management system', 'bank account ledger', 'shopping cart', 'booking system', 'subscription billing',
    'warehouse stock tracker', 'loyalty points program', 'insurance claims workflow', 'hotel reservation system', 'loan servicing platform',
    'auction house', 'parcel tracking service'],
}

const T = (label: TaskClass, split: 'train' | 'test', task: string, entries: readonly string[]): Template[] =>
  entries.map((text, i) => ({ id: `${label[0]!.toLowerCase()}-${task}-${split}-${i + 1}`, label, task, split, text }))

/** Templates by class. `{snippet}` is a fenced short snippet whose `{lang}`, `{fn}` and `{v}` the text may name. */
export const TEMPLATES: readonly Template[] = [
  ...T('SIMPLE', 'train', 'edit', [
    'add a docstring to {fn}:\n{snippet}', 'Can you write a one-line docstring for this?\n{snippet}',
    'add comments to this {lang} snippet\n{snippet}', 'rename `{v}` to `{newvar}` in this code:\n{snippet}',
    'fix the typo in this error message: "{typo}"', 'format this {lang} code properly:\n{snippet}',
    'add type hints to this function\n{snippet}', 'Fix the indentation:\n{snippet}',
    'Change the log message in {fn} to say "{msg}"\n{snippet}', 'make the variable names in {fn} more descriptive\n{snippet}',
    'spell-check the comments in this snippet\n{snippet}',
  ]),
  ...T('SIMPLE', 'train', 'explain', [
    'what does this line do? `{line}`', 'what does {api} return?', 'explain what `{v}` is used for here\n{snippet}',
    'what is the difference between {pair}?', 'how do I {howto} in {lang}?', 'what is {concept}? one sentence please',
    'what does `{fn}` return when {edge}?\n{snippet}',
  ]),
  ...T('SIMPLE', 'test', 'edit', [
    'please document {fn} with a short docstring\n{snippet}', 'can you put a comment above each line of this?\n{snippet}',
    'the variable `{v}` has a bad name, call it `{newvar}` instead\n{snippet}', 'there is a spelling mistake in "{typo}", correct it',
    'reindent and tidy this up\n{snippet}',
  ]),
  ...T('SIMPLE', 'test', 'explain', [
    'quick question: what value does {api} give back?', 'ELI5 this line: `{line}`', 'define {concept} in a sentence',
  ]),
  ...T('MODERATE', 'train', 'implement', [
    'implement a function to {spec}', 'Write a {lang} function to {spec}.', 'I need a {lang} helper to {spec}. Include a couple of examples.',
    'write code to {spec}', 'Create a small CLI script in {lang2} that {cli}', 'write a SQL query that {sqlspec}',
    'write a regex-based function to {spec}',
  ]),
  ...T('MODERATE', 'train', 'test', [
    'write unit tests for this function\n{snippet}', 'write tests covering the edge cases of {fn}\n{snippet}',
    'Make {fn} handle the case where {edge} and add a test for it\n{snippet}',
  ]),
  ...T('MODERATE', 'train', 'convert', [
    'convert this {lang} function to {lang2}:\n{snippet}', 'port {fn} to {lang2}, keeping the same behaviour\n{snippet}',
    'add input validation and error handling to {fn}\n{snippet}',
  ]),
  ...T('MODERATE', 'train', 'long-context', [
    'add a docstring to the {fn} function in this file\n{bigcode}', 'rename `{v}` to `{newvar}` everywhere in this file:\n{bigcode}',
    'explain what this file does\n{bigcode}', 'fix the typo in the log message inside {fn}\n{bigcode}',
  ]),
  ...T('MODERATE', 'test', 'implement', [
    'give me a {lang} function which can {spec}', 'code up a small routine to {spec} and show how to call it',
    'need a script that {cli}', 'Please write a SQL statement that {sqlspec}',
  ]),
  ...T('MODERATE', 'test', 'test', ['cover {fn} with unit tests, including the edge cases\n{snippet}']),
  ...T('MODERATE', 'test', 'convert', ['rewrite this in {lang2}\n{snippet}']),
  ...T('MODERATE', 'test', 'long-context', [
    'put a comment on top of {fn} explaining it\n{bigcode}', 'what does {fn} in this module return?\n{bigcode}',
  ]),
  ...T('COMPLEX', 'train', 'design', [
    'design a {system} for {context}', 'Design the architecture of a {system} that must handle {scale}.',
    'How would you architect a {system} across multiple regions with failover?',
    'propose a sharding strategy for {dataset} at {scale}', 'design an event-sourced {domain} with CQRS, snapshots and replay',
    'choose between {store} and {store2} for {dataset} at {scale} and justify the trade-offs',
  ]),
  ...T('COMPLEX', 'train', 'refactor', [
    'refactor the {module} module into {pattern}', 'Refactor our {module} code so that {goal}.',
    'we need to split the {module} monolith into services; outline the boundaries, data ownership and rollout',
  ]),
  ...T('COMPLEX', 'train', 'debug', [
    'our {component} deadlocks under load; find the race condition and fix it',
    'debug an intermittent race in the {component}: two threads {race}',
    'this {lang} code sometimes loses updates under concurrency, find and fix the race:\n{racy}',
  ]),
  ...T('COMPLEX', 'train', 'optimize', [
    'optimize the {hotpath} so it serves {scale} with p99 under {ms} ms', 'reduce memory usage of the {hotpath} by 10x without changing its API',
  ]),
  ...T('COMPLEX', 'train', 'migrate', [
    'plan a zero-downtime migration of {dataset} from {store} to {store2}',
    'write a migration plan to move the {module} API from REST to gRPC without breaking existing clients',
  ]),
  ...T('COMPLEX', 'train', 'security', [
    'do a security review of our {authflow} and propose fixes', 'threat-model the {authflow}: list attack vectors and mitigations',
  ]),
  ...T('COMPLEX', 'test', 'design', [
    'sketch a system design for a {system} serving {scale}', 'what architecture would you pick for a {system}? compare two options',
  ]),
  ...T('COMPLEX', 'test', 'refactor', ['restructure the {module} package into {pattern}, keeping behaviour identical']),
  ...T('COMPLEX', 'test', 'debug', [
    'there is a heisenbug in our {component}, it only shows up with many threads - track it down',
    'this {lang} code deadlocks about once a day; explain why and fix it\n{racy}',
  ]),
  ...T('COMPLEX', 'test', 'optimize', ['make the {hotpath} scale to {scale}; it currently falls over at a tenth of that']),
  ...T('COMPLEX', 'test', 'migrate', ['move {dataset} off {store} onto {store2} with no downtime and no data loss']),
  ...T('COMPLEX', 'test', 'security', ['audit the {authflow} for vulnerabilities']),
]
