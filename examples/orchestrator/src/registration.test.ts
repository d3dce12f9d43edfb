import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGmailServer } from '@steward/example-mcp-gmail';
import { signTestToken } from '@steward/transport-ws/testing';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { logEntries, type OrchestratorProcess, startOrchestratorProcess } from './process.ts';
import { removeSharedState } from './test-helpers.ts';

// Registration trust across replicas: what the API and the mcp_registrations table may make an
// orchestrator do. The model is never called here.
const databaseUrl = process.env.STEWARD_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const redisUrl = process.env.STEWARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const unique = `${process.pid}_${Date.now().toString(36)}`;
const schema = `steward_registration_${unique}`;
const prefix = `steward-registration-${unique}`;
const secret = 'orchestrator-registration-test-secret-32+';

const gmail = await startGmailServer();
const environment = {
  DATABASE_URL: databaseUrl,
  STEWARD_DATABASE_SCHEMA: schema,
  REDIS_URL: redisUrl,
  STEWARD_REDIS_PREFIX: prefix,
  OPENAI_API_KEY: 'sk-test',
  OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
  STEWARD_MODEL: 'gpt-test',
  STEWARD_JWT_SECRET: secret,
  PORT: '0',
  STEWARD_MCP_SYNC_INTERVAL_MS: '300',
  // The operator lets admins register the (local) Gmail mock, and nothing else.
  STEWARD_MCP_ALLOWED_ORIGINS: new URL(gmail.url).origin,
  STEWARD_MCP_ALLOWED_NETWORKS: '127.0.0.1',
};
const table = `${pg.escapeIdentifier(schema)}.mcp_registrations`;
const instances: OrchestratorProcess[] = [];
const launch = async (name: string) => {
  const instance = await startOrchestratorProcess(name, environment);
  instances.push(instance);
  return instance;
};
let a: OrchestratorProcess;
let database: pg.Client;

beforeAll(async () => {
  a = await launch('A');
  database = new pg.Client({ connectionString: databaseUrl });
  await database.connect();
});

afterEach((context) => {
  if (context.task.result?.state !== 'fail') return;
  for (const instance of instances) console.error(`--- ${instance.name}\n${instance.lines.join('\n')}`);
});

afterAll(async () => {
  await Promise.all(instances.map((instance) => instance.stop()));
  await database.end();
  await gmail.stop();
  await removeSharedState({ databaseUrl, schema, redisUrl, prefix });
});

/** A stdio server that, if it ever ran, would leave its marker file behind. */
async function markerCommand() {
  const marker = join(await mkdtemp(join(tmpdir(), 'steward-orchestrator-')), 'spawned');
  return {
    marker,
    server: {
      transport: 'stdio',
      command: process.execPath,
      args: ['-e', `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'ran')`],
    },
  };
}

async function register(instance: OrchestratorProcess, body: unknown) {
  const admin = await signTestToken({ secret, userId: 'root', claims: { roles: ['admin'] } });
  const response = await fetch(`${instance.url}/api/v1/tools/register`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

const storedNames = async () =>
  (await database.query(`SELECT name FROM ${table} ORDER BY name`)).rows.map((row) => row.name);

describe('registration trust in the orchestrator', () => {
  it('answers the issue’s attack and servers outside the allowlists with typed 400s, running and storing nothing', async () => {
    const { marker, server } = await markerCommand();
    expect(await register(a, { name: 'pwn', ...server })).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_request', details: { issues: [{ path: 'transport' }] } } },
    });
    const port = new URL(gmail.url).port;
    for (const url of [
      `http://localhost:${port}/mcp`,
      'http://127.0.0.1:9/mcp',
      'http://169.254.169.254/mcp',
    ])
      expect(await register(a, { name: 'other', transport: 'streamable-http', url }), url).toMatchObject({
        status: 400,
        body: {
          error: {
            code: 'invalid_input',
            details: { issues: [{ path: ['url'], code: 'origin_not_allowed' }] },
          },
        },
      });
    expect(
      await register(a, {
        name: 'gmail',
        transport: 'streamable-http',
        url: gmail.mcpUrl,
        serviceAuth: { audience: 'anything' },
      }),
    ).toMatchObject({
      status: 400,
      body: {
        error: { details: { issues: [{ path: ['serviceAuth', 'audience'], code: 'audience_not_allowed' }] } },
      },
    });
    expect(existsSync(marker)).toBe(false);
    expect(await storedNames()).toEqual([]);

    // The allowed origin works end to end.
    expect(
      await register(a, { name: 'gmail', transport: 'streamable-http', url: gmail.mcpUrl }),
    ).toMatchObject({
      status: 201,
      body: { server: { name: 'gmail', state: 'connected', tools: 2 } },
    });
    expect(await storedNames()).toEqual(['gmail']);
  });

  it('spawns no stdio row planted in PostgreSQL, on a running replica or on one that starts after it', async () => {
    const { marker, server } = await markerCommand();
    // Whoever can write the database can plant a row.
    await database.query(`INSERT INTO ${table} (name, config) VALUES ('planted', $1::jsonb)`, [
      JSON.stringify({ name: 'planted', ...server }),
    ]);
    try {
      // A running replica's sync sees it, refuses it once, and goes on.
      await expect
        .poll(() => logEntries(a, 'mcp_registration_refused').map((entry) => entry.server), {
          timeout: 10_000,
        })
        .toEqual(['planted']);
      // A replica that starts reads it with the rest of the store, and does not run it either.
      const b = await launch('B');
      expect(
        logEntries(b, 'mcp_warning').filter((entry) =>
          /planted names a stdio command, which was not spawned/.test(JSON.stringify(entry)),
        ),
      ).toHaveLength(1);
      const ready = (await (await fetch(`${b.url}/readyz`)).json()) as { mcp: { name: string }[] };
      expect(ready.mcp.map((entry) => entry.name)).toEqual(['gmail']);
      await b.stop();
      expect(existsSync(marker)).toBe(false);
      // Nothing stored was lost: the row stays for the operator to inspect.
      expect(await storedNames()).toEqual(['gmail', 'planted']);
    } finally {
      await database.query(`DELETE FROM ${table} WHERE name = 'planted'`);
    }
  });
});
