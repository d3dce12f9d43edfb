import { checkStorable } from '@steward/core';

/**
 * @internal The last line for every query: a string parameter with text PostgreSQL cannot store
 * is refused before it is sent, as core's `checkStorable` refuses it in a record. (JSON
 * parameters are checked before they are serialized, where NUL and lone surrogates still show.)
 */
export function checkStorableValues(values: readonly unknown[] | undefined): void {
  values?.forEach((value, index) => {
    if (typeof value === 'string' || Array.isArray(value))
      checkStorable(value, `query parameter ${index + 1}`);
  });
}
