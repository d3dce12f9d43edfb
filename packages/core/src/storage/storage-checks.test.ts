import { describe, expect, it } from 'vitest';
import { checkEventPage, checkStorable } from './storage-checks.ts';

describe('checkStorable', () => {
  it('refuses NUL and lone surrogates with one storage_error shape naming the field', () => {
    expect(() => checkStorable([{ text: 'ok' }, { text: 'a\ud800' }], 'events')).toThrow(
      expect.objectContaining({
        code: 'storage_error',
        retryable: false,
        details: { field: 'events[1].text', reason: 'unstorable_text' },
      }),
    );
    expect(() => checkStorable({ 'a\u0000': 1 }, 'run')).toThrow(
      expect.objectContaining({ details: { field: 'run[…]', reason: 'unstorable_text' } }),
    );
  });

  it('accepts any well-formed text without NUL', () => {
    expect(() => checkStorable({ text: 'tab\t😀 \uFFFD', list: [1, null, true] }, 'event')).not.toThrow();
  });
});

describe('checkEventPage', () => {
  it.each([
    [{ afterSeq: -1 }, 'afterSeq'],
    [{ afterSeq: 1.5 }, 'afterSeq'],
    [{ limit: 0 }, 'limit'],
    [{ limit: Number.POSITIVE_INFINITY }, 'limit'],
  ])('refuses %o as invalid_input naming %s', (page, field) => {
    expect(() => checkEventPage(page)).toThrow(
      expect.objectContaining({ code: 'invalid_input', details: { field } }),
    );
  });

  it('accepts no page, or a whole afterSeq of 0 or more and a limit of 1 or more', () => {
    for (const page of [{}, { afterSeq: 0 }, { afterSeq: 7, limit: 1 }])
      expect(() => checkEventPage(page)).not.toThrow();
  });
});
