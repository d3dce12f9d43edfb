import { StewardError } from '@steward/core';
import { describe, expect, it } from 'vitest';
import { toHttpError } from './http-error.ts';

describe('toHttpError', () => {
  it('answers a storage failure in Steward’s words with the request id, whatever the driver said', () => {
    const failure = toHttpError(
      new StewardError('storage_error', 'Opening the session: relation "x.sessions" does not exist', {
        details: { pgCode: '42P01' },
      }),
      'req-1',
    );
    expect(failure.status).toBe(503);
    expect(failure.toBody()).toEqual({
      error: {
        code: 'storage_error',
        message: 'Storage failed; try again. The server log has the details.',
        request_id: 'req-1',
      },
    });
  });

  it('answers anything unexpected with 500 internal_error and no internals', () => {
    for (const error of [
      new TypeError('Cannot read properties of undefined'),
      'boom',
      new StewardError('model_error', 'secret text'),
    ]) {
      const body = toHttpError(error, 'req-2').toBody();
      expect(body.error).toMatchObject({
        message: 'Internal error. The server log has the details.',
        request_id: 'req-2',
      });
      expect(JSON.stringify(body)).not.toMatch(/Cannot read|boom|secret/);
    }
  });

  it('keeps a 4xx message and details, but never a driver’s code', () => {
    const failure = toHttpError(
      new StewardError('not_found', 'Storing the approval: it refers to a record that does not exist', {
        details: { pgCode: '23503' },
      }),
    );
    expect(failure.toBody()).toEqual({
      error: {
        code: 'not_found',
        message: 'Storing the approval: it refers to a record that does not exist',
      },
    });
    const limited = toHttpError(
      new StewardError('too_many_active_runs', 'Too many active runs', {
        details: { limit: 5, retryAfterMs: 5_000 },
      }),
    );
    expect(limited).toMatchObject({ status: 429, headers: { 'retry-after': '5' }, details: { limit: 5 } });
  });
});
