/** Templates of the code in simulated answers for the compiled languages: small valid functions, classes and structs. */
import type { Unit } from './code-templates.ts'

export const GO: readonly Unit[] = [
  (n) => `func ${n.pascal}(${n.many} []string, limit int) []string {
\tresult := make([]string, 0, len(${n.many}))
\tfor _, ${n.one} := range ${n.many} {
\t\tif ${n.one} != "" {
\t\t\tresult = append(result, ${n.one})
\t\t}
\t}
\tif len(result) > limit {
\t\treturn result[:limit]
\t}
\treturn result
}`,
  (n) => `func ${n.pascal}(${n.many} []string) map[string]int {
\tcounts := make(map[string]int)
\tfor _, ${n.one} := range ${n.many} {
\t\tcounts[${n.one}]++
\t}
\treturn counts
}`,
  (n) => `type ${n.cls} struct {
\tName string
\t${n.manyPascal} []string
}

func New${n.cls}() *${n.cls} {
\treturn &${n.cls}{Name: "${n.s}"}
}`,
]

export const RUST: readonly Unit[] = [
  (n) => `pub fn ${n.snake}(${n.many}: &[String], limit: usize) -> Vec<String> {
    ${n.many}
        .iter()
        .filter(|${n.one}| !${n.one}.is_empty())
        .take(limit)
        .cloned()
        .collect()
}`,
  (n) => `pub fn ${n.snake}(${n.many}: &[String]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for ${n.one} in ${n.many} {
        *counts.entry(${n.one}.clone()).or_insert(0) += 1;
    }
    counts
}`,
  (n) => `pub struct ${n.cls} {
    name: String,
    ${n.many}: Vec<String>,
}

impl ${n.cls} {
    pub fn new() -> Self {
        Self { name: String::from("${n.s}"), ${n.many}: Vec::new() }
    }

    pub fn add(&mut self, ${n.one}: String) -> usize {
        self.${n.many}.push(${n.one});
        self.${n.many}.len()
    }
}`,
]

export const JAVA: readonly Unit[] = [
  (n) => `public static List<String> ${n.camel}(List<String> ${n.many}, int limit) {
    List<String> result = new ArrayList<>();
    for (String ${n.one} : ${n.many}) {
        if (!${n.one}.isEmpty()) {
            result.add(${n.one});
        }
    }
    return result.subList(0, Math.min(limit, result.size()));
}`,
  (n) => `public static Map<String, Integer> ${n.camel}(List<String> ${n.many}) {
    Map<String, Integer> counts = new HashMap<>();
    for (String ${n.one} : ${n.many}) {
        counts.merge(${n.one}, 1, Integer::sum);
    }
    return counts;
}`,
]

export const C: readonly Unit[] = [
  (n) => `size_t ${n.snake}(const char **${n.many}, size_t count, size_t limit) {
    size_t kept = 0;
    for (size_t i = 0; i < count && kept < limit; i++) {
        if (${n.many}[i] != NULL && ${n.many}[i][0] != 0) {
            kept++;
        }
    }
    return kept;
}`,
  (n) => `void ${n.snake}(const char **${n.many}, size_t count) {
    for (size_t i = 0; i < count; i++) {
        printf("${n.s}: %s\\n", ${n.many}[i]);
    }
}`,
]

export const CPP: readonly Unit[] = [
  (n) => `std::vector<std::string> ${n.snake}(const std::vector<std::string>& ${n.many}, std::size_t limit = ${n.k}) {
    std::vector<std::string> result;
    for (const auto& ${n.one} : ${n.many}) {
        if (!${n.one}.empty() && result.size() < limit) {
            result.push_back(${n.one});
        }
    }
    return result;
}`,
  (n) => `class ${n.cls} {
public:
    explicit ${n.cls}(std::string name = "${n.s}") : name_(std::move(name)) {}

    std::size_t add(const std::string& ${n.one}) {
        ${n.many}_.push_back(${n.one});
        return ${n.many}_.size();
    }

private:
    std::string name_;
    std::vector<std::string> ${n.many}_;
};`,
]

/** `event` is a C# keyword. */
const csharpName = (word: string) => (word === 'event' ? 'evt' : word)

export const CSHARP: readonly Unit[] = [
  (n) => `public static List<string> ${n.pascal}(IEnumerable<string> ${n.many}, int limit = ${n.k})
{
    return ${n.many}.Where(${csharpName(n.one)} => !string.IsNullOrEmpty(${csharpName(n.one)})).Take(limit).ToList();
}`,
  (n) => `public static Dictionary<string, int> ${n.pascal}(IEnumerable<string> ${n.many})
{
    var counts = new Dictionary<string, int>();
    foreach (var ${csharpName(n.one)} in ${n.many})
    {
        counts[${csharpName(n.one)}] = counts.TryGetValue(${csharpName(n.one)}, out var seen) ? seen + 1 : 1;
    }
    return counts;
}`,
]

export const KOTLIN: readonly Unit[] = [
  (n) => `fun ${n.camel}(${n.many}: List<String>, limit: Int = ${n.k}): List<String> =
    ${n.many}.filter { it.isNotBlank() }.take(limit)`,
  (n) => `class ${n.cls}(val name: String = "${n.s}") {
    private val ${n.many} = mutableListOf<String>()

    fun add(${n.one}: String): Int {
        ${n.many}.add(${n.one})
        return ${n.many}.size
    }
}`,
]

export const SWIFT: readonly Unit[] = [
  (n) => `func ${n.camel}(_ ${n.many}: [String], limit: Int = ${n.k}) -> [String] {
    return Array(${n.many}.filter { !$0.isEmpty }.prefix(limit))
}`,
  (n) => `final class ${n.cls} {
    let name: String
    private(set) var ${n.many}: [String] = []

    init(name: String = "${n.s}") {
        self.name = name
    }

    func add(_ ${n.one}: String) -> Int {
        ${n.many}.append(${n.one})
        return ${n.many}.count
    }
}`,
]
