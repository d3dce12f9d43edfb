import { StewardError } from '@steward/core';

/**
 * True for a failure of the connection or the server rather than of the request: the driver's own
 * errors (no code, e.g. "Connection terminated unexpectedly"), Node's socket errors (`ECONNRESET`,
 * `ECONNREFUSED`…), connection exceptions (08…), shutdowns and cancellations (57…), and too many
 * connections (53300).
 */
function isConnectionFailure(code: unknown): boolean {
  return (
    typeof code !== 'string' ||
    /^E[A-Z]+$/.test(code) ||
    code.startsWith('08') ||
    code.startsWith('57') ||
    code === '53300'
  );
}

/**
 * @internal Maps a node-postgres error to a typed storage error. The message says, in Steward's
 * words, what failed; the database's own text stays in `cause` (and its SQLSTATE in
 * `details.pgCode`), since a host may show the message to an end user.
 */
export function toStorageError(error: unknown, what: string): StewardError {
  if (StewardError.isInstance(error)) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const details = typeof code === 'string' ? { pgCode: code } : {};
  switch (code) {
    case '23505':
      return new StewardError('storage_error', `${what}: it already exists`, { cause: error, details });
    case '23503':
      return new StewardError('not_found', `${what}: it refers to a record that does not exist`, {
        cause: error,
        details,
      });
    case '22P05':
    case '22021':
    case '22P02':
      return new StewardError('storage_error', `${what}: the data cannot be stored`, {
        cause: error,
        retryable: false,
        details,
      });
    case '40001':
    case '40P01':
      return new StewardError('storage_error', `${what}: it conflicted with a concurrent change`, {
        cause: error,
        retryable: true,
        details,
      });
    default:
      if ((error as Error | null)?.name === 'ZodError') {
        return new StewardError('storage_error', `${what}: a stored record is malformed`, {
          cause: error,
          retryable: false,
        });
      }
      if (isConnectionFailure(code)) {
        return new StewardError('storage_error', `${what}: the connection to the database failed`, {
          cause: error,
          retryable: true,
          details,
        });
      }
      return new StewardError('storage_error', `${what}: the database refused it`, {
        cause: error,
        retryable: false,
        details,
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
