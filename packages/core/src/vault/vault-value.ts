import { StewardError } from '../errors/steward-error.ts';

/** What the vault stores and gives back: JSON (an OAuth token set, a client registration, a string). */
export type VaultValue = string | number | boolean | null | readonly VaultValue[] | VaultObject;

/**
 * A JSON object in a {@link VaultValue}. A property may be `undefined` (so types with optional
 * properties fit): JSON leaves it out, and it reads back as absent.
 */
export interface VaultObject {
  readonly [key: string]: VaultValue | undefined;
}

const maxDepth = 64;

/**
 * Where `value` stops being JSON that reads back as it was (`$.a[2]`), or `undefined` when it is
 * JSON. Refused: functions, symbols, bigints, non-finite numbers, `undefined` but as an object
 * property (JSON leaves those out, as it does everywhere), class instances such as `Date` or
 * `Map` (they would come back as something else), cycles and nesting deeper than 64.
 */
function firstNonJson(value: unknown, path: string, depth: number, seen: Set<object>): string | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : path;
  if (typeof value !== 'object' || depth > maxDepth || seen.has(value)) return path;
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      for (let index = 0; index < value.length; index += 1) {
        const found = firstNonJson(value[index], `${path}[${index}]`, depth + 1, seen);
        if (found !== undefined) return found;
      }
      return undefined;
    }
    const prototype = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) return path;
    for (const [key, item] of Object.entries(value)) {
      if (item === undefined) continue;
      // Keys are data too, but a short plain one helps find the field; others are not shown.
      const step = /^[A-Za-z_][A-Za-z0-9_]{0,40}$/.test(key) ? `.${key}` : '[…]';
      const found = firstNonJson(item, `${path}${step}`, depth + 1, seen);
      if (found !== undefined) return found;
    }
    return undefined;
  } finally {
    seen.delete(value);
  }
}

/**
 * @internal The UTF-8 JSON of `value`, or an `invalid_input` naming where it is not JSON or how
 * large it is. Never quotes the value: it is a secret.
 */
export function encodeVaultValue(value: unknown, maxValueBytes: number): Uint8Array<ArrayBuffer> {
  const path = firstNonJson(value, '$', 0, new Set());
  if (path !== undefined) {
    throw new StewardError('invalid_input', `The vault stores JSON only: ${path} is not JSON`, {
      details: { field: 'value', path, reason: 'not_json' },
    });
  }
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  if (bytes.length > maxValueBytes) {
    throw new StewardError(
      'invalid_input',
      `The value is ${bytes.length} bytes of JSON, more than maxValueBytes (${maxValueBytes})`,
      { details: { field: 'value', reason: 'too_large', bytes: bytes.length, maxValueBytes } },
    );
  }
  return bytes;
}
