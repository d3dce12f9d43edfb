import {
  parseOptions,
  type RunRecord,
  type RunUpdate,
  StewardError,
  type StewardEvent,
  type Storage,
  stewardEventSchema,
} from '@steward/core';
import pg from 'pg';
import { z } from 'zod';
import { connectionShape, oneConnection, openDriver } from './connection.ts';
import { createPostgresCompaction } from './message-compaction.ts';
import { migrations } from './migrations.ts';
import { guarded, toStorageError } from './pg-errors.ts';
import { createPostgresConsent } from './postgres-consent.ts';
import type { PGliteLike, SqlDriver, SqlResult, SqlTransaction } from './sql-driver.ts';
import { storableMessageJson, toStoredMessage } from './stored-messages.ts';

const optionsSchema = z
  .object({
    ...connectionShape,
    migrate: z.boolean().default(true),
    maxMessageBytes: z.number().int().positive().default(1_000_000),
  })
  .strict()
  .refine(oneConnection, 'needs exactly one of connectionString, pool or pglite');

/** Options of {@link createPostgresStorage}. */
export interface PostgresStorageOptions {
  /** e.g. `postgresql://user@localhost:5432/app`; or pass a ready `pool`. */
  connectionString?: string;
  pool?: pg.Pool;
  /** An in-process PGlite database (real Postgres, pgvector available), e.g. for demos and tests without a server. */
  pglite?: PGliteLike;
  /** The schema Steward's tables live in. Default `steward`. */
  schema?: string;
  /** Apply pending migrations before the first query. Default true. */
  migrate?: boolean;
  /** Largest message accepted, in bytes of its JSON. Default 1,000,000. */
  maxMessageBytes?: number;
}

/** A `Storage` over PostgreSQL, plus its lifecycle. */
export interface PostgresStorage extends Storage {
  /** Applies pending migrations (forward-only, under an advisory lock, each in a transaction). */
  migrate(): Promise<void>;
  /** Ends the pool (or PGlite) when this storage created it. */
  close(): Promise<void>;
  /**
   * Deletes everything stored about a user, in one transaction: sessions, messages, runs and
   * their events, approvals, executions, audit entries and permissions. Resolves the rows deleted
   * per table. (Memories live in the memory adapter: see `PgVectorMemory.forgetUser`.)
   */
  deleteUser(userId: string): Promise<Record<string, number>>;
  /** @internal Query access for companion stores in this package (registrations). */
  readonly sql: Db;
}

/** @internal What the query helpers share. */
export interface Db {
  readonly table: (name: string) => string;
  // biome-ignore lint/suspicious/noExplicitAny: rows are read field by field and checked where they leave
  query<Row = any>(sql: string, values?: unknown[]): Promise<SqlResult<Row>>;
  transaction<T>(work: (tx: SqlTransaction) => Promise<T>): Promise<T>;
}

const iso = (value: Date | string | null | undefined) =>
  value === null || value === undefined ? undefined : new Date(value).toISOString();

/**
 * Steward's storage in PostgreSQL over `pg`: every read is scoped to its user, event appends
 * are serialized per run (no gaps, no duplicates, even across instances), and the consent
 * records use single-statement check-and-sets. Migrations run on first use.
 *
 * @example
 * ```ts
 * const storage = createPostgresStorage({ connectionString: process.env.DATABASE_URL });
 * const assistant = new Assistant({ model, storage });
 * ```
 */
export function createPostgresStorage(options: PostgresStorageOptions): PostgresStorage {
  const config = parseOptions(optionsSchema, options, 'createPostgresStorage');
  const driver: SqlDriver = openDriver(config);
  const schema = pg.escapeIdentifier(config.schema);
  let migrated: Promise<void> | undefined;

  async function migrate(): Promise<void> {
    try {
      await driver.transaction(async (tx) => {
        // One migrator at a time across instances; the others wait, then find nothing to do.
        await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`steward:migrate:${config.schema}`]);
        await tx.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
        await tx.exec(
          `CREATE TABLE IF NOT EXISTS ${schema}.migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
        );
        const applied = new Set(
          (await tx.query<{ version: number }>(`SELECT version FROM ${schema}.migrations`)).rows.map(
            (row) => row.version,
          ),
        );
        for (const migration of migrations) {
          if (applied.has(migration.version)) continue;
          await tx.exec(migration.sql.replaceAll('{schema}', schema));
          await tx.query(`INSERT INTO ${schema}.migrations (version, name) VALUES ($1, $2)`, [
            migration.version,
            migration.name,
          ]);
        }
      });
    } catch (error) {
      throw toStorageError(error, 'Migrating the Steward schema');
    }
  }

  const ready = () => {
    if (!config.migrate) return Promise.resolve();
    migrated ??= migrate().catch((error: unknown) => {
      migrated = undefined; // Try again on the next call.
      throw error;
    });
    return migrated;
  };

  const db: Db = {
    table: (name) => `${schema}.${pg.escapeIdentifier(name)}`,
    async query(sql, values) {
      await ready();
      return driver.query(sql, values);
    },
    async transaction(work) {
      await ready();
      return driver.transaction(work);
    },
  };
  const t = db.table;

  const toRun = (row: Record<string, unknown>): RunRecord => ({
    id: row.id as string,
    sessionId: row.session_id as string,
    userId: row.user_id as string,
    status: row.status as RunRecord['status'],
    createdAt: iso(row.created_at as Date) as string,
    updatedAt: iso(row.updated_at as Date) as string,
    ...(row.stop_reason === null
      ? {}
      : { stopReason: row.stop_reason as NonNullable<RunRecord['stopReason']> }),
    ...(row.text === null ? {} : { text: row.text as string }),
    ...(row.partial === null ? {} : { partial: row.partial as boolean }),
    ...(row.usage === null ? {} : { usage: row.usage as NonNullable<RunRecord['usage']> }),
    ...(row.options === null ? {} : { options: row.options as NonNullable<RunRecord['options']> }),
    epoch: row.epoch as number,
  });

  return {
    migrate,
    close: () => driver.close(),
    sql: db,
    deleteUser: (userId) =>
      guarded('Deleting the user’s data', () =>
        db.transaction(async (tx) => {
          const runs = `SELECT id FROM ${t('runs')} WHERE user_id = $1`;
          const statements: [string, string][] = [
            ['run_events', `DELETE FROM ${t('run_events')} WHERE run_id IN (${runs})`],
            ['executions', `DELETE FROM ${t('executions')} WHERE run_id IN (${runs})`],
            ['approvals', `DELETE FROM ${t('approvals')} WHERE user_id = $1`],
            [
              'messages',
              `DELETE FROM ${t('messages')} WHERE session_id IN (SELECT id FROM ${t('sessions')} WHERE user_id = $1)`,
            ],
            ['runs', `DELETE FROM ${t('runs')} WHERE user_id = $1`],
            ['sessions', `DELETE FROM ${t('sessions')} WHERE user_id = $1`],
            ['audit_log', `DELETE FROM ${t('audit_log')} WHERE user_id = $1`],
            ['tool_permissions', `DELETE FROM ${t('tool_permissions')} WHERE user_id = $1`],
          ];
          const deleted: Record<string, number> = {};
          for (const [table, sql] of statements) deleted[table] = (await tx.query(sql, [userId])).rowCount;
          return deleted;
        }),
      ),
    ...createPostgresCompaction(db, config.maxMessageBytes),
    ...createPostgresConsent(db),

    ensureSession: (sessionId, scope) =>
      guarded('Opening the session', async () => {
        await db.query(
          `INSERT INTO ${t('sessions')} (id, user_id) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`,
          [sessionId, scope.userId],
        );
        const row = (
          await db.query(`SELECT id, user_id, created_at FROM ${t('sessions')} WHERE id = $1`, [sessionId])
        ).rows[0];
        if (row === undefined || row.user_id !== scope.userId) {
          throw new StewardError('session_not_found', `Session ${sessionId} does not exist`);
        }
        return { id: row.id, userId: row.user_id, createdAt: iso(row.created_at) as string };
      }),
    getSession: (sessionId, scope) =>
      guarded('Reading the session', async () => {
        const row = (
          await db.query(
            `SELECT id, user_id, created_at FROM ${t('sessions')} WHERE id = $1 AND user_id = $2`,
            [sessionId, scope.userId],
          )
        ).rows[0];
        return row === undefined
          ? undefined
          : { id: row.id, userId: row.user_id, createdAt: iso(row.created_at) as string };
      }),
    appendMessages: (sessionId, batch) =>
      guarded('Storing messages', async () => {
        const rows = batch.map(({ runId, message }) => ({
          runId,
          json: storableMessageJson(message, config.maxMessageBytes),
        }));
        if (rows.length === 0) return;
        // One statement: the whole batch is stored, or none of it.
        await db.query(
          `INSERT INTO ${t('messages')} (session_id, run_id, message)
           SELECT $1, run_id, message::jsonb FROM unnest($2::text[], $3::text[]) AS batch (run_id, message)`,
          [sessionId, rows.map((row) => row.runId), rows.map((row) => row.json)],
        );
      }),
    listMessages: (sessionId, scope) =>
      guarded('Reading messages', async () => {
        const limit = scope.limit ?? null;
        const result = await db.query(
          `SELECT * FROM (
             SELECT m.id, m.session_id, m.run_id, m.created_at, m.message FROM ${t('messages')} m
             JOIN ${t('sessions')} s ON s.id = m.session_id
             WHERE m.session_id = $1 AND s.user_id = $2 ORDER BY m.id DESC LIMIT $3
           ) newest ORDER BY id ASC`,
          [sessionId, scope.userId, limit],
        );
        return result.rows.map(toStoredMessage);
      }),
    createRun: (record) =>
      guarded('Creating the run', async () => {
        await db.query(
          `INSERT INTO ${t('runs')} (id, session_id, user_id, status, created_at, updated_at, stop_reason, text, partial, usage, options)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
          [
            record.id,
            record.sessionId,
            record.userId,
            record.status,
            record.createdAt,
            record.updatedAt,
            record.stopReason ?? null,
            record.text ?? null,
            record.partial ?? null,
            record.usage === undefined ? null : JSON.stringify(record.usage),
            record.options === undefined ? null : JSON.stringify(record.options),
          ],
        );
      }),
    updateRun: (runId, update: RunUpdate) =>
      guarded('Updating the run', async () => {
        const result = await db.query(
          `UPDATE ${t('runs')} SET
             status = coalesce($2, status), stop_reason = coalesce($3, stop_reason), text = coalesce($4, text),
             partial = coalesce($5, partial), usage = coalesce($6::jsonb, usage), updated_at = now()
           WHERE id = $1`,
          [
            runId,
            update.status ?? null,
            update.stopReason ?? null,
            update.text ?? null,
            update.partial ?? null,
            update.usage === undefined ? null : JSON.stringify(update.usage),
          ],
        );
        if (result.rowCount === 0) throw new StewardError('not_found', `Run ${runId} does not exist`);
      }),
    getRun: (runId, scope) =>
      guarded('Reading the run', async () => {
        const row = (
          await db.query(`SELECT * FROM ${t('runs')} WHERE id = $1 AND user_id = $2`, [runId, scope.userId])
        ).rows[0];
        return row === undefined ? undefined : toRun(row);
      }),
    listStaleRuns: (updatedBefore, listOptions) =>
      guarded('Listing stale runs', async () =>
        (
          await db.query(
            `SELECT * FROM ${t('runs')} WHERE status = 'running' AND updated_at < $1 ORDER BY updated_at LIMIT $2`,
            [updatedBefore, listOptions?.limit ?? 100],
          )
        ).rows.map(toRun),
      ),
    transitionRun: (runId, from, to, epoch) =>
      guarded('Changing the run status', async () => {
        const row = (
          await db.query<{ epoch: number }>(
            `UPDATE ${t('runs')} SET status = $3, epoch = epoch + 1, updated_at = now()
             WHERE id = $1 AND status = $2 AND ($4::integer IS NULL OR epoch = $4) RETURNING epoch`,
            [runId, from, to, epoch ?? null],
          )
        ).rows[0];
        return row?.epoch;
      }),
    appendEvents: (runId, events: readonly StewardEvent[]) =>
      guarded('Storing run events', () =>
        db.transaction(async (client) => {
          // The run row lock serializes writers of one run across every instance.
          const locked = await client.query(`SELECT 1 FROM ${t('runs')} WHERE id = $1 FOR UPDATE`, [runId]);
          if (locked.rowCount === 0) throw new StewardError('not_found', `Run ${runId} does not exist`);
          const last =
            (
              await client.query<{ seq: number }>(
                `SELECT coalesce(max(seq), 0) AS seq FROM ${t('run_events')} WHERE run_id = $1`,
                [runId],
              )
            ).rows[0]?.seq ?? 0;
          let expected = last + 1;
          for (const event of events) {
            if (event.run_id !== runId || event.seq !== expected) {
              throw new StewardError(
                'storage_error',
                `Event seq ${event.seq} of run ${event.run_id} does not follow seq ${expected - 1} of run ${runId}`,
                { details: { lastSeq: last } },
              );
            }
            expected++;
          }
          if (events.length === 0) return;
          await client.query(
            `INSERT INTO ${t('run_events')} (run_id, seq, event) SELECT $1, seq, event::jsonb FROM unnest($2::integer[], $3::text[]) AS batch (seq, event)`,
            [runId, events.map((event) => event.seq), events.map((event) => JSON.stringify(event))],
          );
        }),
      ),
    listEvents: (runId, scope) =>
      guarded('Reading run events', async () => {
        const result = await db.query(
          `SELECT e.event FROM ${t('run_events')} e JOIN ${t('runs')} r ON r.id = e.run_id
           WHERE e.run_id = $1 AND r.user_id = $2 AND e.seq > $3 ORDER BY e.seq`,
          [runId, scope.userId, scope.afterSeq ?? 0],
        );
        return result.rows.map((row) => stewardEventSchema.parse(row.event) as StewardEvent);
      }),
  };
}
