import { describe, expect, it } from 'vitest';
import { toStorageError } from './pg-errors.ts';

const failure = (message: string, code?: string) =>
  Object.assign(new Error(message), code === undefined ? {} : { code });

describe('toStorageError', () => {
  it('says what failed in Steward’s words and keeps the database’s own text in cause only', () => {
    const cases = [
      [
        failure('duplicate key value violates unique constraint "runs_pkey"', '23505'),
        'it already exists',
        false,
      ],
      [
        failure('invalid byte sequence for encoding "UTF8": 0x00', '22021'),
        'the data cannot be stored',
        false,
      ],
      [failure('relation "steward.runs" does not exist', '42P01'), 'the database refused it', false],
      [
        failure('terminating connection due to administrator command', '57P01'),
        'the connection to the database failed',
        true,
      ],
      [failure('Connection terminated unexpectedly'), 'the connection to the database failed', true],
      [failure('read ECONNRESET', 'ECONNRESET'), 'the connection to the database failed', true],
      [
        failure('could not serialize access due to concurrent update', '40001'),
        'it conflicted with a concurrent change',
        true,
      ],
    ] as const;
    for (const [cause, words, retryable] of cases) {
      const error = toStorageError(cause, 'Storing run events');
      expect(error).toMatchObject({
        code: 'storage_error',
        message: `Storing run events: ${words}`,
        retryable,
        cause,
      });
    }
  });
});
