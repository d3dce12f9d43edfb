import { spawn } from 'node:child_process';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { migrations } from './migrations.ts';
import { connectionString, useTestSchemas } from './test-helpers.ts';

const db = useTestSchemas();
const cli = new URL('./cli.ts', import.meta.url).pathname;
const latest = migrations.at(-1) as (typeof migrations)[number];

function steward(args: string[], env: Record<string, string | undefined> = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], {
      env: { ...process.env, DATABASE_URL: undefined, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('steward-postgres migrate', () => {
  it('migrates a fresh schema, printing the version before and after, then finds nothing to do', async () => {
    const schema = db.schema('cli');
    const first = await steward(['migrate', '--connection-string', connectionString, '--schema', schema]);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toContain(`Steward schema "${schema}": version 0 before, ${latest.version} after.`);
    expect(first.stdout).toContain('applied 4: users, usage records and user preferences');
    expect(first.stdout).toContain(`applied ${latest.version}: ${latest.name}`);
    const tables = await db.admin((client) =>
      client.query(`SELECT version FROM ${pg.escapeIdentifier(schema)}.migrations ORDER BY version`),
    );
    expect(tables.rows.map((row) => row.version)).toEqual(migrations.map((migration) => migration.version));

    const second = await steward(['migrate', '--schema', schema], { DATABASE_URL: connectionString });
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`version ${latest.version} before, ${latest.version} after.`);
    expect(second.stdout).toContain('already up to date');
  });

  it('exits 2 with its usage when the database or command is missing', async () => {
    const noDatabase = await steward(['migrate']);
    expect(noDatabase.code).toBe(2);
    expect(noDatabase.stderr).toContain('DATABASE_URL');
    const unknown = await steward(['upgrade', '--connection-string', connectionString]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Usage: steward-postgres migrate');
    const badSchema = await steward([
      'migrate',
      '--connection-string',
      connectionString,
      '--schema',
      'Bad"Name',
    ]);
    expect(badSchema.code).toBe(2);
    expect(badSchema.stderr).toContain('schema');
  });

  it('exits 1 when the server cannot be reached, without printing the password', async () => {
    const result = await steward([
      'migrate',
      '--connection-string',
      'postgresql://steward:s3cret@127.0.0.1:1/none',
    ]);
    expect(result.code).toBe(1);
    // Steward's words first, then the driver's own (the operator's terminal, not an end user's).
    expect(result.stderr).toContain(
      'Migration failed: Migrating the Steward schema: the connection to the database failed (connect ECONNREFUSED',
    );
    expect(result.stderr).not.toContain('s3cret');
  });
});
