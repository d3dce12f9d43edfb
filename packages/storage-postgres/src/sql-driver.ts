import type pg from 'pg';
import { checkStorableValues } from './storable-text.ts';

/** @internal A query's rows and how many rows it touched. */
export interface SqlResult<Row> {
  readonly rows: Row[];
  readonly rowCount: number;
}

/** @internal What runs SQL inside a transaction. */
export interface SqlTransaction {
  query<Row = Record<string, unknown>>(sql: string, values?: unknown[]): Promise<SqlResult<Row>>;
  /** Several statements, no parameters (migrations). */
  exec(sql: string): Promise<void>;
}

/** @internal The few things Steward needs from a Postgres: node-postgres and PGlite both provide them. */
export interface SqlDriver extends SqlTransaction {
  transaction<T>(work: (tx: SqlTransaction) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * The part of a PGlite database this adapter uses, so `@electric-sql/pglite` stays an optional
 * dependency: pass `new PGlite()` (with the pgvector extension if you like) as `pglite`.
 */
export interface PGliteLike {
  query<Row>(sql: string, params?: unknown[]): Promise<{ rows: Row[]; affectedRows?: number }>;
  exec(sql: string): Promise<unknown>;
  transaction<T>(
    work: (tx: {
      query<Row>(sql: string, params?: unknown[]): Promise<{ rows: Row[]; affectedRows?: number }>;
      exec(sql: string): Promise<unknown>;
    }) => Promise<T>,
  ): Promise<T>;
  close(): Promise<void>;
}

/** @internal node-postgres behind {@link SqlDriver}; the pool is ended on close only if we made it. */
export function pgDriver(pool: pg.Pool, ownsPool: boolean): SqlDriver {
  const wrap = (client: pg.Pool | pg.PoolClient): SqlTransaction => ({
    async query<Row>(sql: string, values?: unknown[]) {
      checkStorableValues(values);
      const result = await client.query(sql, values);
      return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
    },
    async exec(sql: string) {
      await client.query(sql);
    },
  });
  return {
    ...wrap(pool),
    async transaction(work) {
      const client = await pool.connect();
      // While checked out, a client has no listener of the pool's: a connection that dies now (a
      // cut, a failover, pg_terminate_backend) emits 'error' on it, which unheard ends the
      // process. The query in flight rejects on its own; this only marks the client as broken.
      let broken: Error | undefined;
      const onError = (error: Error) => {
        broken ??= error;
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const result = await work(wrap(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch((rollbackError: Error) => {
          // A client that cannot roll back is in no state to serve another transaction.
          broken ??= rollbackError;
        });
        throw error;
      } finally {
        client.off('error', onError);
        // A broken client is closed, not handed to the next caller.
        client.release(broken);
      }
    },
    close: () => (ownsPool ? pool.end() : Promise.resolve()),
  };
}

/** @internal PGlite behind {@link SqlDriver}: real Postgres in process, one connection. */
export function pgliteDriver(db: PGliteLike, ownsDb: boolean): SqlDriver {
  const wrap = (target: Pick<PGliteLike, 'query' | 'exec'>): SqlTransaction => ({
    async query<Row>(sql: string, values?: unknown[]) {
      checkStorableValues(values);
      const result = await target.query<Row>(sql, values);
      // PGlite counts only changed rows in affectedRows; a SELECT reports its rows.
      return { rows: result.rows, rowCount: Math.max(result.affectedRows ?? 0, result.rows.length) };
    },
    async exec(sql: string) {
      await target.exec(sql);
    },
  });
  return {
    ...wrap(db),
    transaction: (work) => db.transaction((tx) => work(wrap(tx))),
    close: () => (ownsDb ? db.close() : Promise.resolve()),
  };
}
