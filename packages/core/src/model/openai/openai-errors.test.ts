import { APIConnectionError, APIError } from 'openai';
import { describe, expect, it } from 'vitest';
import { retryAfterMs, toModelError } from './openai-errors.ts';

describe('toModelError', () => {
  it('maps statuses to codes and keeps Retry-After', () => {
    const limited = toModelError(
      APIError.generate(429, { message: 'slow down' }, undefined, new Headers({ 'retry-after': '2' })),
    );
    expect(limited).toMatchObject({
      code: 'model_rate_limited',
      retryable: true,
      details: { status: 429, retryAfterMs: 2_000 },
    });
    expect(toModelError(APIError.generate(503, undefined, 'busy', new Headers()))).toMatchObject({
      code: 'model_unavailable',
      retryable: true,
    });
    expect(toModelError(APIError.generate(400, undefined, 'bad', new Headers()))).toMatchObject({
      code: 'model_error',
      retryable: false,
    });
    expect(toModelError(new APIConnectionError({ message: 'refused' }))).toMatchObject({
      code: 'model_unavailable',
    });
  });

  it('maps an error reported inside the stream by its code, not as a retryable outage', () => {
    const inStream = new APIError(
      undefined,
      { code: 'context_length_exceeded', message: 'too long' },
      'too long',
      undefined,
    );
    expect(toModelError(inStream)).toMatchObject({
      code: 'model_error',
      retryable: false,
      details: { providerCode: 'context_length_exceeded' },
    });
  });

  it('reads Retry-After in milliseconds, seconds and as a date', () => {
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '150' }))).toBe(150);
    expect(retryAfterMs(new Headers({ 'retry-after': '1.5' }))).toBe(1_500);
    const inTwoSeconds = new Date(Date.now() + 2_000).toUTCString();
    expect(retryAfterMs(new Headers({ 'retry-after': inTwoSeconds }))).toBeGreaterThan(500);
    expect(retryAfterMs(new Headers())).toBeUndefined();
  });
});
