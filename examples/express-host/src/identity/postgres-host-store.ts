import pg from 'pg';
import {
  type ConversationRecord,
  conversationRecordSchema,
  type HostStore,
  titleOf,
  type UserRecord,
  userRecordSchema,
} from './host-store.ts';

/** Options of {@link createPostgresHostStore}. */
export interface PostgresHostStoreOptions {
  /** `postgres://…` */
  readonly url: string;
  /** The schema of the host's tables, created when missing. Default `steward_host`. */
  readonly schema?: string;
}

const identifier = /^[a-z_][a-z0-9_]{0,62}$/;

const userOf = (row: Record<string, unknown>): UserRecord =>
  userRecordSchema.parse({
    id: row.id,
    issuer: row.issuer,
    subject: row.subject,
    name: row.name,
    ...(row.email === null ? {} : { email: row.email }),
    roles: row.roles,
    createdAt: (row.created_at as Date).toISOString(),
    lastSignInAt: (row.last_sign_in_at as Date).toISOString(),
  }) as UserRecord;

const conversationOf = (row: Record<string, unknown>): ConversationRecord =>
  conversationRecordSchema.parse({
    id: row.id,
    userId: row.user_id,
    title: row.title,
    createdAt: (row.created_at as Date).toISOString(),
    updatedAt: (row.updated_at as Date).toISOString(),
  });

/** The host's users and conversation lists in PostgreSQL: two tables in their own schema, created at start. */
export async function createPostgresHostStore(options: PostgresHostStoreOptions): Promise<HostStore> {
  const schema = options.schema ?? 'steward_host';
  if (!identifier.test(schema))
    throw new Error(`createPostgresHostStore: schema ${schema} is not a plain identifier`);
  const pool = new pg.Pool({ connectionString: options.url, max: 4 });
  try {
    await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema};
      CREATE TABLE IF NOT EXISTS ${schema}.users (
        id text PRIMARY KEY, issuer text NOT NULL, subject text NOT NULL, name text NOT NULL, email text,
        roles jsonb NOT NULL DEFAULT '[]', created_at timestamptz NOT NULL DEFAULT now(),
        last_sign_in_at timestamptz NOT NULL DEFAULT now());
      CREATE TABLE IF NOT EXISTS ${schema}.conversations (
        user_id text NOT NULL, id text NOT NULL, title text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id, id));
      CREATE INDEX IF NOT EXISTS conversations_recent ON ${schema}.conversations (user_id, updated_at DESC);`);
  } catch (error) {
    await pool.end();
    throw error;
  }
  const t = (name: string) => `${schema}.${name}`;
  return {
    async saveUser(user) {
      const { rows } = await pool.query(
        `INSERT INTO ${t('users')} (id, issuer, subject, name, email, roles) VALUES ($1, $2, $3, $4, $5, $6::jsonb)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, email = excluded.email, roles = excluded.roles,
           last_sign_in_at = now()
         RETURNING *`,
        [user.id, user.issuer, user.subject, user.name, user.email ?? null, JSON.stringify(user.roles)],
      );
      return userOf(rows[0]);
    },
    async getUser(userId) {
      const { rows } = await pool.query(`SELECT * FROM ${t('users')} WHERE id = $1`, [userId]);
      return rows[0] === undefined ? undefined : userOf(rows[0]);
    },
    async touchConversation(userId, conversationId, title) {
      const { rows } = await pool.query(
        `INSERT INTO ${t('conversations')} (user_id, id, title) VALUES ($1, $2, $3)
         ON CONFLICT (user_id, id) DO UPDATE SET updated_at = now() RETURNING *`,
        [userId, conversationId, titleOf(title)],
      );
      return conversationOf(rows[0]);
    },
    async getConversation(userId, conversationId) {
      const { rows } = await pool.query(
        `SELECT * FROM ${t('conversations')} WHERE user_id = $1 AND id = $2`,
        [userId, conversationId],
      );
      return rows[0] === undefined ? undefined : conversationOf(rows[0]);
    },
    async listConversations(userId) {
      const { rows } = await pool.query(
        `SELECT * FROM ${t('conversations')} WHERE user_id = $1 ORDER BY updated_at DESC, created_at DESC LIMIT 500`,
        [userId],
      );
      return rows.map(conversationOf);
    },
    async deleteConversation(userId, conversationId) {
      const result = await pool.query(`DELETE FROM ${t('conversations')} WHERE user_id = $1 AND id = $2`, [
        userId,
        conversationId,
      ]);
      return (result.rowCount ?? 0) > 0;
    },
    async deleteUser(userId) {
      await pool.query(`DELETE FROM ${t('conversations')} WHERE user_id = $1`, [userId]);
      await pool.query(`DELETE FROM ${t('users')} WHERE id = $1`, [userId]);
    },
    close: () => pool.end(),
  };
}
