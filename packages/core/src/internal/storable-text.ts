// Text every storage keeps as it was given: PostgreSQL refuses NUL in text and jsonb, and turns a
// lone surrogate into U+FFFD, so a run would read back other text than it wrote. Every adapter
// refuses both (storage/storage-checks.ts); the run loop cleans what reaches it from a model or a
// tool (toStorableText, toStorableValue), so such text never fails a run.

const plainKey = /^[A-Za-z_$][\w$]{0,63}$/;

/** @internal True when `text` has no NUL and no lone surrogate: every storage keeps it as is. */
export function isStorableText(text: string): boolean {
  return !text.includes('\u0000') && text.isWellFormed();
}

/**
 * @internal The path to the first string in `value` (a key included) that is not storable text,
 * as segments from the innermost out, or `undefined`. Nothing is allocated when all is well: a
 * batch of events is walked on every append.
 */
function unstorableSegments(value: unknown): string[] | undefined {
  if (typeof value === 'string') return isStorableText(value) ? undefined : [];
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      const found = unstorableSegments(value[index]);
      if (found !== undefined) return [...found, `[${index}]`];
    }
    return undefined;
  }
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    // A key of the caller's data is named only when it is short and plain.
    const found = isStorableText(key) ? unstorableSegments((value as Record<string, unknown>)[key]) : [];
    if (found !== undefined) return [...found, plainKey.test(key) ? `.${key}` : '[…]'];
  }
  return undefined;
}

/**
 * @internal Where in `value` (named `path`) a string or key holds NUL or a lone surrogate, e.g.
 * `events[3].text`, or `undefined` when everything in it can be stored.
 */
export function findUnstorableText(value: unknown, path: string): string | undefined {
  const segments = unstorableSegments(value);
  return segments === undefined ? undefined : path + segments.reverse().join('');
}

/**
 * @internal `text` with every NUL and lone surrogate replaced by U+FFFD, the character Unicode
 * sets aside for text that could not be decoded; `text` itself (no copy) when there is none.
 * Replacing, not dropping: the reader sees that something was there.
 */
export function toStorableText(text: string): string {
  return isStorableText(text) ? text : text.toWellFormed().replaceAll('\u0000', '\uFFFD');
}

/**
 * @internal `value` with {@link toStorableText} applied to every string and key in it. Copies only
 * the arrays and objects on the way to text that changes; returns `value` itself when none does.
 */
export function toStorableValue<T>(value: T): T {
  if (typeof value === 'string') return toStorableText(value) as T;
  if (value === null || typeof value !== 'object' || unstorableSegments(value) === undefined) return value;
  if (Array.isArray(value)) return value.map((item: unknown) => toStorableValue(item)) as T;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) copy[toStorableText(key)] = toStorableValue(item);
  return copy as T;
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;

/**
 * @internal The first `maxChars` UTF-16 units of `text`, one fewer when the cut would leave the
 * first half of a surrogate pair at the end (a lone surrogate no storage keeps).
 */
export function cutText(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  return text.slice(0, isHighSurrogate(text.charCodeAt(maxChars - 1)) ? maxChars - 1 : maxChars);
}

/**
 * @internal Cleans a stream of text deltas with {@link toStorableText}. A delta that ends in the
 * first half of a surrogate pair keeps that half back for the next delta, so a character a
 * provider split in two arrives whole; {@link TextCleaner.end} gives what is left (U+FFFD for a
 * half nothing completed). A delta with nothing to clean is returned as is, with no copy: this
 * runs once per token.
 */
export class TextCleaner {
  #held = '';

  push(delta: string): string {
    if (this.#held === '' && isStorableText(delta)) return delta;
    let text = this.#held + delta;
    this.#held = '';
    if (text.length > 0 && isHighSurrogate(text.charCodeAt(text.length - 1))) {
      this.#held = text.slice(-1);
      text = text.slice(0, -1);
    }
    return toStorableText(text);
  }

  end(): string {
    const rest = this.#held === '' ? '' : '\uFFFD';
    this.#held = '';
    return rest;
  }
}
