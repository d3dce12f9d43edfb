import { StewardError } from '@steward/core';

/** @internal Maps a node-postgres error to a typed storage error, keeping it as the cause. */
export function toStorageError(error: unknown, what: string): StewardError {
  if (StewardError.isInstance(error)) return error;
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  switch (code) {
    case '23505':
      return new StewardError('storage_error', `${what}: it already exists`, {
        cause: error,
        details: { pgCode: code },
      });
    case '23503':
      return new StewardError('not_found', `${what}: it refers to a record that does not exist`, {
        cause: error,
        details: { pgCode: code },
      });
    case '22P05':
    case '22021':
    case '22P02':
      return new StewardError('storage_error', `${what}: the data cannot be stored (${message})`, {
        cause: error,
        details: { pgCode: code },
      });
    default:
      // Connection and server failures may pass; bad data will not.
      return new StewardError('storage_error', `${what}: ${message}`, {
        cause: error,
        retryable:
          typeof code !== 'string' ||
          code.startsWith('08') ||
          code.startsWith('57') ||
          code === '40001' ||
          code === '40P01',
        details: typeof code === 'string' ? { pgCode: code } : {},
      });
  }
}

/** @internal Runs `work`, reporting any failure as a typed storage error about `what`. */
export async function guarded<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toStorageError(error, what);
  }
}
