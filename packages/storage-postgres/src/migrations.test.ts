import { createEnvironmentKeyProvider, createTokenVault } from '@steward/core';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { migrations } from './migrations.ts';
import { runMigrations } from './migrator.ts';
import { createPostgresVaultStore } from './postgres-vault-store.ts';
import { pgDriver } from './sql-driver.ts';
import { connectionString, useTestSchemas } from './test-helpers.ts';

const db = useTestSchemas();
const tables = ['sessions', 'runs', 'messages', 'run_events', 'approvals', 'audit_log', 'tool_permissions'];
const versionFourTables = [...tables, 'mcp_registrations', 'users', 'usage_records', 'user_preferences'];
const versions = migrations.map((migration) => migration.version);
const latest = Math.max(...versions);
// Found by name, so the test keeps working if the migration is renumbered before release.
const vaultVersion = migrations.find((migration) => migration.name === 'token vault records')?.version ?? 0;

async function counts(
  client: pg.Client,
  schema: string,
  list: readonly string[] = tables,
): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  for (const table of list) {
    const { rows } = await client.query(
      `SELECT count(*)::integer AS n FROM ${pg.escapeIdentifier(schema)}.${table}`,
    );
    result[table] = rows[0].n;
  }
  return result;
}

/** A schema at `version` (3 or more), holding what a version-3 Steward wrote. */
async function versionThreeWithData(schema: string, version = 3) {
  const pool = new pg.Pool({ connectionString });
  const driver = pgDriver(pool, true);
  expect(
    await runMigrations(
      driver,
      schema,
      migrations.filter((migration) => migration.version <= version),
    ),
  ).toEqual({ before: 0, after: version, applied: versions.filter((each) => each <= version) });
  const s = pg.escapeIdentifier(schema);
  await driver.exec(`
    INSERT INTO ${s}.sessions (id, user_id, created_at) VALUES
      ('s-alice', 'alice', '2025-01-01T00:00:00Z'), ('s-bob', 'bob', '2025-02-01T00:00:00Z');
    INSERT INTO ${s}.runs (id, session_id, user_id, status, created_at, updated_at, usage) VALUES
      ('r-alice', 's-alice', 'alice', 'completed', now(), '2025-01-02T00:00:00Z',
        '{"input_tokens": 7, "output_tokens": 5, "total_tokens": 12}'),
      ('r-bob', 's-bob', 'bob', 'running', now(), now(), NULL);
    INSERT INTO ${s}.messages (session_id, run_id, message) VALUES
      ('s-alice', 'r-alice', '{"role": "user", "content": "hello"}'),
      ('s-alice', 'r-alice', '{"role": "assistant", "content": "hi"}'),
      ('s-bob', 'r-bob', '{"role": "user", "content": "yo"}');
    INSERT INTO ${s}.run_events (run_id, seq, event) VALUES
      ('r-alice', 1, '{"type": "token", "text": "hi", "run_id": "r-alice", "seq": 1, "timestamp": "2025-01-01T00:00:00.000Z"}');
    INSERT INTO ${s}.approvals (call_id, run_id, session_id, user_id, tool_name, args_hash, status, created_at, expires_at)
      VALUES ('c1', 'r-bob', 's-bob', 'bob', 'send_email', 'h', 'pending', now(), now());
    INSERT INTO ${s}.audit_log (at, action, user_id, actor) VALUES (now(), 'approval_requested', 'bob', 'steward');
    INSERT INTO ${s}.tool_permissions (user_id, tool_name, granted_at) VALUES ('carol', 'search', '2025-03-01T00:00:00Z');
  `);
  await driver.close();
}

describe('migrations', () => {
  it('upgrades a version-3 database with data to the latest without losing a row, and fills users and usage', async () => {
    const schema = db.schema('upgrade');
    await versionThreeWithData(schema);
    const before = await db.admin((client) => counts(client, schema));

    const storage = db.storage(schema);
    expect(await storage.migrate()).toEqual({
      before: 3,
      after: latest,
      applied: versions.filter((version) => version > 3),
    });
    expect(await storage.migrate()).toEqual({ before: latest, after: latest, applied: [] });

    await db.admin(async (client) => {
      expect(await counts(client, schema)).toEqual(before);
      const s = pg.escapeIdentifier(schema);
      const users = await client.query(`SELECT id, created_at FROM ${s}.users ORDER BY id`);
      expect(users.rows.map((row) => [row.id, row.created_at.toISOString()])).toEqual([
        ['alice', '2025-01-01T00:00:00.000Z'],
        ['bob', '2025-02-01T00:00:00.000Z'],
        ['carol', '2025-03-01T00:00:00.000Z'],
      ]);
      const applied = await client.query(`SELECT version FROM ${s}.migrations ORDER BY version`);
      expect(applied.rows.map((row) => row.version)).toEqual(versions);
    });
    // What version 3 stored reads back through the upgraded adapter.
    expect(
      (await storage.listMessages('s-alice', { userId: 'alice' })).map((m) => m.message.content),
    ).toEqual(['hello', 'hi']);
    expect(await storage.getRun('r-alice', { userId: 'alice' })).toMatchObject({
      usage: { total_tokens: 12 },
    });
    expect(await storage.listEvents('r-alice', { userId: 'alice' })).toHaveLength(1);
    // An approval stored before kinds existed is a consent.
    expect(await storage.getApproval('c1', { userId: 'bob' })).toMatchObject({
      status: 'pending',
      kind: 'consent',
    });
    expect(await storage.getApproval('c1', { userId: 'bob', kind: 'authorization' })).toBeUndefined();
    expect(await storage.usageSummary({ userId: 'alice' })).toEqual({
      userId: 'alice',
      runs: 1,
      inputTokens: 7,
      outputTokens: 5,
      totalTokens: 12,
    });
    expect(await storage.usageSummary({ userId: 'alice', since: '2025-01-03T00:00:00Z' })).toMatchObject({
      runs: 0,
    });
  });

  it('adds the token vault to a database of the version before it, losing no row', async () => {
    const schema = db.schema('vault');
    await versionThreeWithData(schema, vaultVersion - 1);
    const s = pg.escapeIdentifier(schema);
    await db.admin((client) =>
      client.query(`
        INSERT INTO ${s}.mcp_registrations (name, config) VALUES ('gmail', '{"name": "gmail"}');
        INSERT INTO ${s}.user_preferences (user_id, key, value) VALUES ('alice', 'theme', '"dark"');
        INSERT INTO ${s}.users (id) VALUES ('alice'), ('bob');
        INSERT INTO ${s}.usage_records (run_id, user_id, session_id, input_tokens, output_tokens, total_tokens)
          VALUES ('r-alice', 'alice', 's-alice', 7, 5, 12);`),
    );
    const before = await db.admin((client) => counts(client, schema, versionFourTables));
    expect(Object.values(before).every((count) => count > 0)).toBe(true);

    const storage = db.storage(schema);
    expect(await storage.migrate()).toEqual({
      before: vaultVersion - 1,
      after: latest,
      applied: versions.filter((version) => version >= vaultVersion),
    });
    expect(await db.admin((client) => counts(client, schema, versionFourTables))).toEqual(before);
    expect(await storage.getPreferences('alice')).toEqual({ theme: 'dark' });
    const keys = createEnvironmentKeyProvider({
      keys: `k1:${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64')}`,
    });
    const vault = createTokenVault({ store: createPostgresVaultStore(storage), keys });
    await vault.put({ userId: 'alice', kind: 'mcp_oauth_tokens', name: 'gmail' }, { access_token: 't' });
    expect(await vault.get({ userId: 'alice', kind: 'mcp_oauth_tokens', name: 'gmail' })).toEqual({
      access_token: 't',
    });
  });

  it('leaves the schema as it was when a migration fails', async () => {
    const schema = db.schema('broken');
    await db.storage(schema).migrate();
    const pool = new pg.Pool({ connectionString });
    const broken = [
      ...migrations,
      { version: latest + 1, name: 'broken', sql: 'CREATE TABLE {schema}.half (id text); SELECT nope' },
    ];
    await expect(runMigrations(pgDriver(pool, true), schema, broken)).rejects.toThrow(/nope/);
    await pool.end();
    await db.admin(async (client) => {
      const s = pg.escapeIdentifier(schema);
      expect((await client.query(`SELECT max(version) AS v FROM ${s}.migrations`)).rows[0].v).toBe(latest);
      expect((await client.query(`SELECT to_regclass($1) AS t`, [`${schema}.half`])).rows[0].t).toBeNull();
    });
  });

  it('numbers migrations 1, 2, 3… with no gap, so a released one is never renumbered', () => {
    expect(migrations.map((migration) => migration.version)).toEqual(
      migrations.map((_m, index) => index + 1),
    );
  });
});
