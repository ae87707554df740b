/** Built-in example utterances per class for the embedding classifier (semantic-router style routes). */
import type { TaskClass } from 'switchyard/plugin'

export const DEFAULT_EXAMPLES: Readonly<Record<TaskClass, readonly string[]>> = {
  SIMPLE: [
    'Add a docstring to this function',
    'Add comments to this code',
    'What does this line of Python do?',
    'Explain what a list comprehension is',
    'Rename the variable x to count',
    'Fix the typo in this string',
    'How do I reverse a list in Python?',
    'Convert a string to an integer in JavaScript',
    'What is the difference between let and const?',
    'Format this JSON',
    'Sort a dictionary by value',
    'What is the capital of France?',
  ],
  MODERATE: [
    'Write a function that checks whether a string is a palindrome',
    'Implement binary search over a sorted array',
    'Write a Python script that reads a CSV file and prints the average of a column',
    'Create a REST endpoint that returns the list of users as JSON',
    'Write a function to merge two sorted lists',
    'Implement a function that returns the n-th Fibonacci number',
    'Write a unit test for this function',
    'Parse a log file and count the errors per hour',
    'Write a SQL query that returns the top 5 customers by revenue',
    'Write a program that prints the prime numbers below 100',
  ],
  COMPLEX: [
    'Design the architecture of a distributed job queue with retries and exactly-once delivery',
    'Refactor this module into smaller classes and explain the trade-offs',
    'Debug this race condition in my concurrent cache',
    'Optimize this algorithm from O(n^2) to O(n log n) and prove it is correct',
    'Implement a class for an LRU cache with get, put and eviction statistics',
    'Given an array of intervals, find the minimum number of rooms needed; the input has up to 10^5 intervals',
    'Build a rate limiter service that works across several servers',
    'Migrate this codebase from callbacks to async/await without breaking the public API',
    'Write a compiler front end: tokenizer, parser and type checker for a small language',
    'Analyze the performance bottlenecks of this system and propose a redesign',
  ],
}
