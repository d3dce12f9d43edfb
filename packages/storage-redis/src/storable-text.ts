import { StewardError } from '@steward/core';

const plainKey = /^[A-Za-z_$][\w$]{0,63}$/;

/**
 * @internal The path of the first string in `value` (a key included) that a durable storage cannot
 * store: PostgreSQL refuses NUL and silently turns a lone surrogate into U+FFFD. Redis could keep
 * both, but refusing them here keeps its copy of a run equal to the durable one.
 */
export function findUnstorableText(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') || !value.isWellFormed() ? path : undefined;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      const found = findUnstorableText(value[index], `${path}[${index}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      // A key of the caller's data is named only when it is short and plain.
      const at = plainKey.test(key) ? `${path}.${key}` : `${path}[…]`;
      const found = findUnstorableText(key, at) ?? findUnstorableText(item, at);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/**
 * @internal Refuses `value` before Redis sees it when a string in it cannot be stored, with a
 * `storage_error` naming the field (`details.field`), so nothing of the write is stored.
 */
export function checkStorable(value: unknown, field: string): void {
  const found = findUnstorableText(value, field);
  if (found === undefined) return;
  throw new StewardError(
    'storage_error',
    `Cannot store ${found}: it holds a NUL character or invalid Unicode`,
    { retryable: false, details: { field: found, reason: 'unstorable_text' } },
  );
}
