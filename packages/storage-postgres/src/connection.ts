import { StewardError } from '@steward/core';
import pg from 'pg';
import { z } from 'zod';
import { type PGliteLike, pgDriver, pgliteDriver, type SqlDriver } from './sql-driver.ts';

/** @internal The ways to reach a database, shared by the storage and the memory. */
export const connectionShape = {
  connectionString: z.string().min(1).optional(),
  pool: z.custom<pg.Pool>((value) => value instanceof pg.Pool, 'must be a pg Pool').optional(),
  pglite: z
    .custom<PGliteLike>(
      (value) =>
        typeof (value as PGliteLike)?.query === 'function' &&
        typeof (value as PGliteLike)?.exec === 'function',
      'must be a PGlite database',
    )
    .optional(),
  schema: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier')
    .default('steward'),
  onWarning: z
    .custom<(warning: StewardError) => void>((value) => typeof value === 'function', 'must be a function')
    .optional(),
};

/** @internal Exactly one way to reach the database must be given. */
export const oneConnection = (options: {
  connectionString?: string | undefined;
  pool?: unknown;
  pglite?: unknown;
}) =>
  [options.connectionString, options.pool, options.pglite].filter((value) => value !== undefined).length ===
  1;

const heeded = new WeakSet<pg.Pool>();

/**
 * An idle client whose server went away (a restart, a failover, a cut) emits 'error' on its pool;
 * unheard, that ends the process. The pool drops the client and opens another when needed, so a
 * warning is all it takes. A pool the caller passed gets this only when it has no listener.
 */
function heedIdleErrors(pool: pg.Pool, onWarning: ((warning: StewardError) => void) | undefined): void {
  if (heeded.has(pool)) return;
  heeded.add(pool);
  pool.on('error', (error) => {
    const message = `An idle PostgreSQL connection failed and was dropped: ${error.message}`;
    // Without the caller's onWarning, Node's own warning channel, as before: never silence.
    if (onWarning === undefined) process.emitWarning(message, { code: 'STEWARD_PG_IDLE_ERROR' });
    else
      onWarning(
        new StewardError('storage_error', message, {
          cause: error,
          details: { reason: 'idle_client_error' },
        }),
      );
  });
}

/** @internal The driver for the given connection; a pool made here is ended on close. */
export function openDriver(options: {
  connectionString?: string | undefined;
  pool?: pg.Pool | undefined;
  pglite?: PGliteLike | undefined;
  onWarning?: ((warning: StewardError) => void) | undefined;
}): SqlDriver {
  if (options.pglite !== undefined) return pgliteDriver(options.pglite, false);
  if (options.pool !== undefined) {
    if (options.pool.listenerCount('error') === 0) heedIdleErrors(options.pool, options.onWarning);
    return pgDriver(options.pool, false);
  }
  const pool = new pg.Pool({ connectionString: options.connectionString });
  heedIdleErrors(pool, options.onWarning);
  return pgDriver(pool, true);
}
