import {
  checkStorable,
  parseOptions,
  type RunFence,
  type RunRecord,
  type RunUpdate,
  runFencedError,
  StewardError,
  type Storage,
} from '@steward/core';
import pg from 'pg';
import { z } from 'zod';
import { type CompactedSession, type CompactSessionsOptions, compactSessions } from './compact-sessions.ts';
import { connectionShape, oneConnection, openDriver } from './connection.ts';
import { createPostgresCompaction } from './message-compaction.ts';
import { type MigrationReport, runMigrations } from './migrator.ts';
import { guarded, toStorageError } from './pg-errors.ts';
import { createPostgresConsent } from './postgres-consent.ts';
import { createPostgresRunEvents } from './run-events.ts';
import type { PGliteLike, SqlDriver, SqlResult, SqlTransaction } from './sql-driver.ts';
import { storableMessageJson, toStoredMessage } from './stored-messages.ts';
import { createPostgresUsers, type PreferenceValue, type UsageQuery, type UsageSummary } from './users.ts';

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
  /**
   * A pool you made and end yourself. If it has no `'error'` listener, one that warns is added: an
   * idle connection's failure would otherwise end the process.
   */
  pool?: pg.Pool;
  /** An in-process PGlite database (real Postgres, pgvector available), e.g. for demos and tests without a server. */
  pglite?: PGliteLike;
  /** The schema Steward's tables live in. Default `steward`. */
  schema?: string;
  /** Apply pending migrations before the first query. Default true. */
  migrate?: boolean;
  /** Largest message accepted, in bytes of its JSON. Default 1,000,000. */
  maxMessageBytes?: number;
  /**
   * Told of what degrades but does not fail: an idle connection of the storage's own pool that
   * failed and was dropped (`storage_error`). The same option as in every Steward package.
   * Default: Node's `process.emitWarning`.
   */
  onWarning?: (warning: StewardError) => void;
}

/** A `Storage` over PostgreSQL, plus its lifecycle, users, usage, preferences and retention. */
export interface PostgresStorage extends Storage {
  /**
   * Applies pending migrations (forward-only, under an advisory lock, in one transaction) and
   * reports the schema version before and after.
   */
  migrate(): Promise<MigrationReport>;
  /** Ends the pool (or PGlite) when this storage created it. */
  close(): Promise<void>;
  /**
   * Deletes everything stored about a user, in one transaction: the user, sessions, messages,
   * runs and their events, approvals, executions, audit entries, permissions, usage records,
   * preferences and token vault records. Resolves the rows deleted per table. (Memories live in the memory adapter: see
   * `PgVectorMemory.forgetUser`.)
   */
  deleteUser(userId: string): Promise<Record<string, number>>;
  /**
   * Adds up a user's token usage: one usage record per run, written whenever `updateRun` stores
   * the run's usage (its latest total counts).
   */
  usageSummary(query: UsageQuery): Promise<UsageSummary>;
  /** A user's preferences by key. */
  getPreferences(userId: string): Promise<Readonly<Record<string, PreferenceValue>>>;
  /** Sets one preference of a user (any JSON value), replacing the previous value. */
  setPreference(userId: string, key: string, value: PreferenceValue): Promise<void>;
  /** Removes one preference; resolves whether it existed. */
  deletePreference(userId: string, key: string): Promise<boolean>;
  /**
   * Compacts many sessions with `compactSession`, one after the other: those with at least
   * `minMessages` messages and, with `idleSince`, no newer message. A session that fails is
   * reported with its error and the others go on.
   */
  compactSessions(options: CompactSessionsOptions): Promise<readonly CompactedSession[]>;
  /** @internal Query access for companion stores in this package (registrations, the vault). */
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
 * are serialized per run (no gaps, no duplicates, even across instances) and idempotent (a
 * batch resent after a lost reply stores only what is missing), and the consent records use
 * single-statement check-and-sets. Migrations run on first use. A connection that fails mid-query
 * fails that operation with a retryable `storage_error`, never the process; text PostgreSQL
 * cannot store (NUL, lone surrogates) is refused before any query sends it.
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
  let migrated: Promise<MigrationReport> | undefined;

  async function migrate(): Promise<MigrationReport> {
    try {
      return await runMigrations(driver, config.schema);
    } catch (error) {
      throw toStorageError(error, 'Migrating the Steward schema');
    }
  }

  const ready = () => {
    if (!config.migrate) return Promise.resolve(undefined);
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

  /** Why a fenced write matched nothing: the run moved to another epoch (`run_fenced`), or it is gone. */
  const refuseStale = async (runId: string, fence: RunFence): Promise<never> => {
    const row = (await db.query<{ epoch: number }>(`SELECT epoch FROM ${t('runs')} WHERE id = $1`, [runId]))
      .rows[0];
    if (row === undefined) throw new StewardError('not_found', `Run ${runId} does not exist`);
    throw runFencedError(runId, fence, row.epoch);
  };

  const storage: PostgresStorage = {
    migrate,
    close: () => driver.close(),
    sql: db,
    ...createPostgresUsers(db),
    ...createPostgresCompaction(db, config.maxMessageBytes),
    compactSessions: (compactOptions) => compactSessions(storage, compactOptions),
    ...createPostgresConsent(db),
    ...createPostgresRunEvents(db),

    ensureSession: (sessionId, scope) =>
      guarded('Opening the session', async () => {
        checkStorable({ sessionId, userId: scope.userId }, 'session');
        await db.query(
          `WITH known AS (INSERT INTO ${t('users')} (id) VALUES ($2) ON CONFLICT (id) DO NOTHING)
           INSERT INTO ${t('sessions')} (id, user_id) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`,
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
    appendMessages: (sessionId, batch, fence) =>
      guarded('Storing messages', async () => {
        checkStorable(
          batch.map(({ runId }) => ({ runId })),
          'messages',
        );
        const rows = batch.map(({ runId, message }) => ({
          runId,
          json: storableMessageJson(message, config.maxMessageBytes),
        }));
        if (rows.length === 0) return;
        // One statement: the whole batch is stored, or none of it. With a fence, only while the
        // run is at its epoch: the row lock makes a concurrent claim wait, or this see it.
        const inserted = await db.query(
          `INSERT INTO ${t('messages')} (session_id, run_id, message)
           SELECT $1, run_id, message::jsonb FROM unnest($2::text[], $3::text[]) AS batch (run_id, message)
           WHERE $4::text IS NULL
              OR EXISTS (SELECT 1 FROM ${t('runs')} WHERE id = $4 AND epoch = $5 FOR SHARE)`,
          [
            sessionId,
            rows.map((row) => row.runId),
            rows.map((row) => row.json),
            fence?.runId ?? null,
            fence?.epoch ?? null,
          ],
        );
        if (fence !== undefined && inserted.rowCount === 0) await refuseStale(fence.runId, fence);
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
        checkStorable(record, 'run');
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
    updateRun: (runId, update: RunUpdate, fence) =>
      guarded('Updating the run', async () => {
        checkStorable(update, 'run');
        const { usage } = update;
        // The run and its usage record change together; the record keeps the run's latest total.
        const result = await db.query<{ updated: number }>(
          `WITH updated AS (
             UPDATE ${t('runs')} SET
               status = coalesce($2, status), stop_reason = coalesce($3, stop_reason), text = coalesce($4, text),
               partial = coalesce($5, partial), usage = coalesce($6::jsonb, usage), updated_at = now()
             WHERE id = $1 AND ($10::integer IS NULL OR epoch = $10) RETURNING id, user_id, session_id
           ), recorded AS (
             INSERT INTO ${t('usage_records')} (run_id, user_id, session_id, input_tokens, output_tokens, total_tokens)
             SELECT id, user_id, session_id, $7::bigint, $8::bigint, $9::bigint FROM updated WHERE $6::jsonb IS NOT NULL
             ON CONFLICT (run_id) DO UPDATE SET input_tokens = excluded.input_tokens,
               output_tokens = excluded.output_tokens, total_tokens = excluded.total_tokens
           )
           SELECT count(*)::integer AS updated FROM updated`,
          [
            runId,
            update.status ?? null,
            update.stopReason ?? null,
            update.text ?? null,
            update.partial ?? null,
            usage === undefined ? null : JSON.stringify(usage),
            usage?.input_tokens ?? null,
            usage?.output_tokens ?? null,
            usage?.total_tokens ?? null,
            fence?.epoch ?? null,
          ],
        );
        if (result.rows[0]?.updated === 1) return;
        if (fence !== undefined) await refuseStale(runId, fence);
        throw new StewardError('not_found', `Run ${runId} does not exist`);
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
  };
  return storage;
}
