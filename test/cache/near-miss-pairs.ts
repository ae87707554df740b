/** A small labeled set for the semantic cache: paraphrases that should hit, near misses that must not. */

export interface LabeledPair {
  readonly stored: string
  readonly asked: string
  readonly shouldHit: boolean
  /** What makes a near miss different. */
  readonly kind: 'paraphrase' | 'negation' | 'antonym' | 'identifier' | 'number' | 'topic'
}

const hit = (stored: string, asked: string): LabeledPair => ({ stored, asked, shouldHit: true, kind: 'paraphrase' })
const miss = (kind: LabeledPair['kind'], stored: string, asked: string): LabeledPair => ({ stored, asked, shouldHit: false, kind })

export const LABELED_PAIRS: readonly LabeledPair[] = [
  hit('How do I reverse a list in Python?', 'how do I reverse a list in Python'),
  hit('What is the capital of France?', 'What is the capital of France'),
  hit('Explain what a list comprehension is', 'Explain what a list comprehension is, please'),
  hit('How do I enable dark mode in VS Code?', 'How can I enable dark mode in VS Code?'),
  hit('Write a function that checks whether a string is a palindrome', 'Write a function that checks if a string is a palindrome'),
  hit('Sort a dictionary by value', 'sort a dictionary by its value'),
  hit('Convert a string to an integer in JavaScript', 'How to convert a string to an integer in JavaScript'),
  hit('What is the difference between let and const?', 'What is the difference between let and const'),
  hit('How do I read a file line by line in Go?', 'How do I read a file line by line in Go'),
  hit('Add a docstring to the parse_config function', 'Please add a docstring to the parse_config function'),
  hit('Why does git push fail with a rejected error?', 'why does git push fail with a rejected error'),
  hit('Format this JSON for me', 'Format this JSON'),
  miss('antonym', 'How do I enable dark mode in VS Code?', 'How do I disable dark mode in VS Code?'),
  miss('negation', 'How do I use async functions in a loop?', 'How do I not use async functions in a loop?'),
  miss('negation', 'Why is my test passing?', "Why isn't my test passing?"),
  miss('antonym', 'Sort the users by age in ascending order', 'Sort the users by age in descending order'),
  miss('antonym', 'How do I add a column to a pandas DataFrame?', 'How do I remove a column from a pandas DataFrame?'),
  miss('antonym', 'How do I encode a URL in JavaScript?', 'How do I decode a URL in JavaScript?'),
  miss('antonym', 'Convert a string to uppercase in Rust', 'Convert a string to lowercase in Rust'),
  miss('antonym', 'How do I turn on line numbers in vim?', 'How do I turn off line numbers in vim?'),
  miss('negation', 'Run the tests with coverage', 'Run the tests without coverage'),
  miss('antonym', 'How do I start the docker container?', 'How do I stop the docker container?'),
  miss('identifier', 'What does the getUserById function return?', 'What does the getUserByName function return?'),
  miss('identifier', 'Rename the variable user_id to account_id', 'Rename the variable user_id to customer_id'),
  miss('identifier', 'What does os.path.join do?', 'What does os.path.split do?'),
  miss('identifier', 'Explain the --force flag of git push', 'Explain the --force-with-lease flag of git push'),
  miss('identifier', 'Why does `npm install` fail?', 'Why does `npm ci` fail?'),
  miss('number', 'Print the first 10 prime numbers', 'Print the first 100 prime numbers'),
  miss('number', 'What changed in Python 3.11?', 'What changed in Python 3.12?'),
  miss('number', 'Set the timeout to 30 seconds', 'Set the timeout to 60 seconds'),
  miss('number', 'What is HTTP status 401?', 'What is HTTP status 403?'),
  miss('identifier', 'What is the capital of France?', 'What is the capital of Spain?'),
  miss('topic', 'How do I reverse a list in Python?', 'How do I reverse a list in JavaScript?'),
  miss('topic', 'How do I read a file line by line in Go?', 'How do I write a file line by line in Go?'),
]
