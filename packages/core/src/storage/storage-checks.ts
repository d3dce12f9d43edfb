import { StewardError } from '../errors/steward-error.ts';
import { findUnstorableText } from '../internal/storable-text.ts';

/**
 * Refuses `value` when a string in it (an object key included) holds NUL or a lone surrogate:
 * PostgreSQL refuses NUL and silently turns a lone surrogate into U+FFFD, so a store that kept
 * either would read back other text than it was given. Every Steward storage adapter calls this
 * before it writes anything, so all of them refuse the same writes; call it the same way in your
 * own adapter. (The run loop already replaces such text from models and tools with U+FFFD, so
 * a refusal means a caller wrote it directly.)
 *
 * @param value - What is about to be written: a record, an event batch, any JSON-like value.
 * @param field - What to call `value` in the error, e.g. `'events'` or `'run'`.
 * @throws {@link StewardError} `storage_error`, not retryable, with `details.reason`
 * `'unstorable_text'` and `details.field` the path of the first offending string
 * (`events[3].text`); keys that are not short and plain are shown as `[…]`.
 *
 * @example
 * ```ts
 * async appendEvents(runId, events) {
 *   checkStorable(events, 'events'); // nothing of the batch is written when this throws
 *   await db.insert(runId, events);
 * }
 * ```
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

/** The paging part of a `listEvents` scope: events after `afterSeq`, at most `limit` of them. */
export interface EventPage {
  readonly afterSeq?: number | undefined;
  readonly limit?: number | undefined;
}

/**
 * Refuses a `listEvents` page that no backend could answer the same way: `afterSeq` must be a
 * whole number of 0 or more and `limit` one of 1 or more, when given. Call it first in your
 * adapter's `listEvents`, so a bad page fails alike in every backend (and the storage conformance
 * suite in `@steward/testing/conformance` passes).
 *
 * @throws {@link StewardError} `invalid_input` with `details.field` `'afterSeq'` or `'limit'`.
 *
 * @example
 * ```ts
 * async listEvents(runId, scope) {
 *   checkEventPage(scope);
 *   return db.events(runId, { after: scope.afterSeq ?? 0, limit: scope.limit });
 * }
 * ```
 */
export function checkEventPage(page: EventPage): void {
  if (page.afterSeq !== undefined && !(Number.isSafeInteger(page.afterSeq) && page.afterSeq >= 0)) {
    throw new StewardError('invalid_input', 'afterSeq must be a whole number of 0 or more', {
      details: { field: 'afterSeq' },
    });
  }
  if (page.limit !== undefined && !(Number.isSafeInteger(page.limit) && page.limit > 0)) {
    throw new StewardError('invalid_input', 'limit must be a whole number of 1 or more', {
      details: { field: 'limit' },
    });
  }
}
