/**
 * How deep and how large tool arguments may be. The tools' own schemas are two levels deep, so
 * 32 leaves room for anything sensible; `JSON.stringify` and other recursive walkers overflow the
 * stack somewhere past 5,000 levels, and the request body limit (1 MB) alone would allow 500,000.
 */
export const jsonLimits = { maxDepth: 32, maxValues: 10_000 } as const;

/** Where a value breaks {@link jsonLimits}: a JSON Pointer and what is wrong there. */
export interface JsonLimitProblem {
  /** `depth`: nested too deep; `size`: too many values, so the rest was not walked. */
  readonly kind: 'depth' | 'size';
  readonly path: string;
  readonly message: string;
}

const pointer = (segments: readonly (string | number)[]) =>
  `/${segments.map((segment) => String(segment).replaceAll('~', '~0').replaceAll('/', '~1')).join('/')}`;

/**
 * Checks a parsed JSON value against {@link jsonLimits} without recursion (an explicit stack),
 * so any depth is measured safely, and stops at the first breach: it takes at most `maxValues`
 * steps whatever the input, and so does whatever runs after it (validation, hashing).
 */
export function checkJsonLimits(value: unknown, limits = jsonLimits): JsonLimitProblem | undefined {
  const stack: { value: unknown; path: (string | number)[] }[] = [{ value, path: [] }];
  // Values seen or waiting on the stack: counted as they are found, so a huge array is refused
  // before its items are walked.
  let values = 1;
  for (let entry = stack.pop(); entry !== undefined; entry = stack.pop()) {
    if (typeof entry.value !== 'object' || entry.value === null) continue;
    if (entry.path.length >= limits.maxDepth)
      return {
        kind: 'depth',
        path: pointer(entry.path),
        message: `is nested deeper than ${limits.maxDepth} levels`,
      };
    const keys = Array.isArray(entry.value) ? entry.value.keys() : Object.keys(entry.value).values();
    const container = entry.value as Record<string | number, unknown>;
    for (const key of keys) {
      values += 1;
      if (values > limits.maxValues)
        return { kind: 'size', path: '/', message: `has more than ${limits.maxValues} values` };
      stack.push({ value: container[key], path: [...entry.path, key] });
    }
  }
  return undefined;
}
