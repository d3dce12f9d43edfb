import {
  checkStorable,
  cosineSimilarity,
  type Embedder,
  type Memory,
  type MemoryItem,
  parseOptions,
  StewardError,
} from '@steward/core';
import pg from 'pg';
import { z } from 'zod';
import { connectionShape, oneConnection, openDriver } from './connection.ts';
import { guarded, toStorageError } from './pg-errors.ts';
import type { PGliteLike, SqlDriver } from './sql-driver.ts';

const optionsSchema = z
  .object({
    ...connectionShape,
    embedder: z.custom<Embedder>(
      (value) => typeof (value as Embedder)?.embed === 'function',
      'must be an Embedder',
    ),
    /** Rows compared per query when pgvector is missing and the scan is exact. */
    exactScanLimit: z.number().int().positive().default(10_000),
    log: z.custom<(message: string) => void>((value) => typeof value === 'function').optional(),
  })
  .strict()
  .refine(oneConnection, 'needs exactly one of connectionString, pool or pglite');

/** Options of {@link createPgVectorMemory}. */
export interface PgVectorMemoryOptions {
  connectionString?: string;
  /**
   * A pool you made and end yourself. If it has no `'error'` listener, one that warns is added: an
   * idle connection's failure would otherwise end the process.
   */
  pool?: pg.Pool;
  /** PGlite with the pgvector extension loaded, e.g. `new PGlite({ extensions: { vector } })`. */
  pglite?: PGliteLike;
  /** Default `steward`, shared with the storage's tables. */
  schema?: string;
  embedder: Embedder;
  /** Without pgvector, how many of the user's newest memories a query compares. Default 10,000. */
  exactScanLimit?: number;
  /**
   * Told of what degrades but does not fail: the one-time notice about a missing pgvector
   * (`storage_error`, `details.reason: 'pgvector_unavailable'`), an idle connection of its own
   * pool that failed. The same option as in every Steward package. Default: `console.warn`.
   */
  onWarning?: (warning: StewardError) => void;
  /** @deprecated Use `onWarning`, the option every Steward package takes. Still called with the message. */
  log?: (message: string) => void;
}

/** A `Memory` in Postgres that can also forget a user. */
export interface PgVectorMemory extends Required<Memory> {
  /** `pgvector` (HNSW index) or `exact-scan` (the server has no pgvector). Known after the first call. */
  mode(): Promise<'pgvector' | 'exact-scan'>;
  /** Deletes every memory of a user. */
  forgetUser(userId: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * Long-term memory in Postgres: each finished exchange is embedded and stored with the user,
 * session and run it came from; retrieval is always filtered by user. With pgvector (a server
 * that has it, or PGlite with its pgvector extension) the search uses an HNSW index; without it,
 * the memory says so once and compares the user's newest memories exactly. It never silently
 * returns nothing.
 */
export function createPgVectorMemory(options: PgVectorMemoryOptions): PgVectorMemory {
  const config = parseOptions(optionsSchema, options, 'createPgVectorMemory');
  const driver: SqlDriver = openDriver(config);
  const schema = pg.escapeIdentifier(config.schema);
  const table = `${schema}.memories`;
  const dimensions = config.embedder.dimensions;
  const log = (message: string) => {
    if (config.onWarning !== undefined)
      config.onWarning(
        new StewardError('storage_error', message, { details: { reason: 'pgvector_unavailable' } }),
      );
    else if (config.log !== undefined) config.log(message);
    else console.warn(message);
  };
  let setup: Promise<'pgvector' | 'exact-scan'> | undefined;

  async function prepare(): Promise<'pgvector' | 'exact-scan'> {
    await driver.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    let vector = true;
    try {
      await driver.exec('CREATE EXTENSION IF NOT EXISTS vector');
    } catch {
      vector = false;
    }
    const embeddingType = vector ? `vector(${dimensions})` : 'double precision[]';
    await driver.exec(
      `CREATE TABLE IF NOT EXISTS ${table} (
         id bigserial PRIMARY KEY,
         user_id text NOT NULL,
         session_id text NOT NULL,
         run_id text NOT NULL,
         text text NOT NULL,
         embedding ${embeddingType} NOT NULL,
         created_at timestamptz NOT NULL DEFAULT now()
       );
       CREATE INDEX IF NOT EXISTS memories_user ON ${table} (user_id, id);`,
    );
    if (vector) {
      await driver.exec(
        `CREATE INDEX IF NOT EXISTS memories_embedding ON ${table} USING hnsw (embedding vector_cosine_ops)`,
      );
      return 'pgvector';
    }
    log(
      `steward: pgvector is not available in this database; memory search in ${config.schema} uses an exact scan of each user's newest ${config.exactScanLimit} memories`,
    );
    return 'exact-scan';
  }

  const ready = () => {
    setup ??= prepare().catch((error: unknown) => {
      setup = undefined;
      throw toStorageError(error, 'Preparing the memory table');
    });
    return setup;
  };
  const literal = (vector: readonly number[]) => `[${vector.join(',')}]`;

  return {
    mode: ready,
    async remember(entry, { signal }) {
      // Refused before the embedder is paid for: this text could not be stored afterwards.
      checkStorable(entry, 'memory');
      const mode = await ready();
      const text = `User: ${entry.input}\nAssistant: ${entry.output}`;
      const [embedding] = await config.embedder.embed([text], { signal });
      if (embedding === undefined || embedding.length !== dimensions) {
        throw new StewardError(
          'storage_error',
          `The embedder returned a vector of ${embedding?.length} dimensions, not ${dimensions}`,
        );
      }
      try {
        await driver.query(
          `INSERT INTO ${table} (user_id, session_id, run_id, text, embedding) VALUES ($1, $2, $3, $4, $5${mode === 'pgvector' ? '::vector' : '::double precision[]'})`,
          [
            entry.userId,
            entry.sessionId,
            entry.runId,
            text,
            mode === 'pgvector' ? literal(embedding) : embedding,
          ],
        );
      } catch (error) {
        throw toStorageError(error, 'Storing the memory');
      }
    },
    async retrieve(query, { signal }): Promise<readonly MemoryItem[]> {
      const mode = await ready();
      const [embedding] = await config.embedder.embed([query.text], { signal });
      if (embedding === undefined) return [];
      try {
        if (mode === 'pgvector') {
          const rows = await driver.query<{
            id: string | number;
            text: string;
            score: number;
            session_id: string;
            run_id: string;
          }>(
            `SELECT id, text, session_id, run_id, 1 - (embedding <=> $1::vector) AS score FROM ${table}
             WHERE user_id = $2 ORDER BY embedding <=> $1::vector LIMIT $3`,
            [literal(embedding), query.userId, query.limit],
          );
          return rows.rows.map((row) => ({
            id: String(row.id),
            text: row.text,
            score: Number(row.score),
            metadata: { sessionId: row.session_id, runId: row.run_id },
          }));
        }
        const rows = await driver.query<{
          id: string | number;
          text: string;
          embedding: number[];
          session_id: string;
          run_id: string;
        }>(
          `SELECT id, text, embedding, session_id, run_id FROM ${table} WHERE user_id = $1 ORDER BY id DESC LIMIT $2`,
          [query.userId, config.exactScanLimit],
        );
        return rows.rows
          .map((row) => ({
            id: String(row.id),
            text: row.text,
            score: cosineSimilarity(embedding, row.embedding.map(Number)),
            metadata: { sessionId: row.session_id, runId: row.run_id },
          }))
          .sort((a, b) => b.score - a.score)
          .slice(0, query.limit);
      } catch (error) {
        throw toStorageError(error, 'Searching memories');
      }
    },
    async forgetUser(userId) {
      await ready();
      return guarded(
        'Forgetting the user’s memories',
        async () => (await driver.query(`DELETE FROM ${table} WHERE user_id = $1`, [userId])).rowCount,
      );
    },
    close: () => driver.close(),
  };
}
