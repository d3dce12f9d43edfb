import { expect } from 'vitest';

/**
 * No request may have planted a property on `Object.prototype` (the servers run in this process,
 * so a merge of a `__proto__` key anywhere in them shows here).
 */
export function expectUnpolluted(): void {
  const probe: Record<string, unknown> = {};
  expect(probe.polluted, 'Object.prototype was polluted').toBeUndefined();
  expect(Object.getOwnPropertyNames(Object.prototype)).toEqual(prototypeNames);
}

const prototypeNames = Object.getOwnPropertyNames(Object.prototype);

/** JSON text of a string value. */
export const text = (value: string) => JSON.stringify(value);
