import { checkStorable, parseOptions } from '@steward/core';
import { z } from 'zod';
import { guarded } from './pg-errors.ts';
import type { Db } from './postgres-storage.ts';

/** A user's token usage over their runs, from the usage records. */
export interface UsageSummary {
  readonly userId: string;
  /** Runs that reported usage. */
  readonly runs: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly totalTokens: number;
}

/** Which usage {@link UsageSummary} adds up. */
export interface UsageQuery {
  readonly userId: string;
  /** Only runs first recorded at or after this time (ISO-8601). */
  readonly since?: string;
}

/** A preference value: anything JSON can hold. */
export type PreferenceValue =
  | string
  | number
  | boolean
  | null
  | readonly PreferenceValue[]
  | { readonly [key: string]: PreferenceValue };

const userId = z.string().min(1).max(256);
const usageQuerySchema = z.object({ userId, since: z.iso.datetime({ offset: true }).optional() });
const preferenceSchema = z.object({ userId, key: z.string().min(1).max(256), value: z.json() });

/** @internal Users, their usage and their preferences, and deleting all of a user's data. */
export function createPostgresUsers(db: Db) {
  const t = db.table;
  return {
    usageSummary: async (query: UsageQuery): Promise<UsageSummary> => {
      const { userId: user, since } = parseOptions(usageQuerySchema, query, 'usageSummary', 'invalid_input');
      return guarded('Summing up usage', async () => {
        // sum() of bigint is numeric: pg hands it over as a string.
        const row = (
          await db.query<Record<string, string>>(
            `SELECT count(*) AS runs, coalesce(sum(input_tokens), 0) AS input, coalesce(sum(output_tokens), 0) AS output,
               coalesce(sum(total_tokens), 0) AS total
             FROM ${t('usage_records')} WHERE user_id = $1 AND ($2::timestamptz IS NULL OR created_at >= $2)`,
            [user, since ?? null],
          )
        ).rows[0];
        return {
          userId: user,
          runs: Number(row?.runs ?? 0),
          inputTokens: Number(row?.input ?? 0),
          outputTokens: Number(row?.output ?? 0),
          totalTokens: Number(row?.total ?? 0),
        };
      });
    },
    getPreferences: (user: string): Promise<Readonly<Record<string, PreferenceValue>>> =>
      guarded('Reading preferences', async () => {
        const rows = (
          await db.query<{ key: string; value: PreferenceValue }>(
            `SELECT key, value FROM ${t('user_preferences')} WHERE user_id = $1 ORDER BY key`,
            [user],
          )
        ).rows;
        return Object.fromEntries(rows.map((row) => [row.key, row.value]));
      }),
    setPreference: async (user: string, key: string, value: PreferenceValue): Promise<void> => {
      const parsed = parseOptions(
        preferenceSchema,
        { userId: user, key, value },
        'setPreference',
        'invalid_input',
      );
      return guarded('Saving the preference', async () => {
        checkStorable(parsed, 'preference');
        await db.query(
          `WITH known AS (INSERT INTO ${t('users')} (id) VALUES ($1) ON CONFLICT (id) DO NOTHING)
           INSERT INTO ${t('user_preferences')} (user_id, key, value) VALUES ($1, $2, $3::jsonb)
           ON CONFLICT (user_id, key) DO UPDATE SET value = excluded.value, updated_at = now()`,
          [parsed.userId, parsed.key, JSON.stringify(parsed.value)],
        );
      });
    },
    deletePreference: (user: string, key: string): Promise<boolean> =>
      guarded(
        'Deleting the preference',
        async () =>
          (
            await db.query(`DELETE FROM ${t('user_preferences')} WHERE user_id = $1 AND key = $2`, [
              user,
              key,
            ])
          ).rowCount > 0,
      ),
    deleteUser: (user: string): Promise<Record<string, number>> =>
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
            ['usage_records', `DELETE FROM ${t('usage_records')} WHERE user_id = $1`],
            ['runs', `DELETE FROM ${t('runs')} WHERE user_id = $1`],
            ['sessions', `DELETE FROM ${t('sessions')} WHERE user_id = $1`],
            ['audit_log', `DELETE FROM ${t('audit_log')} WHERE user_id = $1`],
            ['tool_permissions', `DELETE FROM ${t('tool_permissions')} WHERE user_id = $1`],
            ['user_preferences', `DELETE FROM ${t('user_preferences')} WHERE user_id = $1`],
            ['vault_records', `DELETE FROM ${t('vault_records')} WHERE owner = $1`],
            ['users', `DELETE FROM ${t('users')} WHERE id = $1`],
          ];
          const deleted: Record<string, number> = {};
          for (const [table, sql] of statements) deleted[table] = (await tx.query(sql, [user])).rowCount;
          return deleted;
        }),
      ),
  };
}
