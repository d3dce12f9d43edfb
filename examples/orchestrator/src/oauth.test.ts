import { createServer } from 'node:net';
import { startGmailServer } from '@steward/example-mcp-gmail';
import { cookieOf, formFields, postForm } from '@steward/example-mcp-gmail/testing';
import { createStewardClient, readAuthorizationCallback } from '@steward/transport-ws/client';
import { signTestToken } from '@steward/transport-ws/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { type OrchestratorProcess, startOrchestratorProcess } from './process.ts';
import { removeSharedState } from './test-helpers.ts';

// One orchestrator with the Gmail mock in OAuth mode as a per-user server: the callback hands the
// browser to the host's completion page, which completes as the signed-in user.
const databaseUrl = process.env.STEWARD_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const redisUrl = process.env.STEWARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const unique = `${process.pid}_${Date.now().toString(36)}`;
const schema = `steward_orchestrator_oauth_${unique}`;
const prefix = `steward-orchestrator-oauth-${unique}`;
const secret = 'orchestrator-test-secret-of-at-least-32-bytes';
const completionUrl = 'http://app.example/connections/callback';

/** A port free now: the callback URL names it before the process listens. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const gmail = await startGmailServer({ auth: { oauth: {} } });
const port = await freePort();
let orchestrator: OrchestratorProcess | undefined;

afterAll(async () => {
  await orchestrator?.stop();
  await gmail.stop();
  await removeSharedState({ databaseUrl, schema, redisUrl, prefix });
});

/** The browser: the mock's consent page, signed in as `account`, Allow; then the orchestrator's callback. */
async function authorizeInBrowser(authorizationUrl: string, account: 'alice' | 'bob') {
  const page = await fetch(authorizationUrl, { redirect: 'manual' });
  const cookie = cookieOf(page);
  const signedIn = await postForm(
    `${gmail.url}/consent/sign-in`,
    { ...formFields(await page.text()), demo_user: account },
    { cookie },
  );
  const decided = await postForm(
    `${gmail.url}/consent`,
    { ...formFields(await signedIn.text()), decision: 'allow' },
    { cookie },
  );
  const callback = await fetch(decided.headers.get('location') ?? '', { redirect: 'manual' });
  expect(callback.status).toBe(303);
  const location = callback.headers.get('location') ?? '';
  expect(location.startsWith(`${completionUrl}?`)).toBe(true);
  return readAuthorizationCallback(location) ?? { state: '' };
}

describe('the orchestrator with users connecting OAuth servers', () => {
  it('completes as the signed-in user only, with tokens in the Postgres vault', async () => {
    orchestrator = await startOrchestratorProcess('oauth', {
      DATABASE_URL: databaseUrl,
      STEWARD_DATABASE_SCHEMA: schema,
      REDIS_URL: redisUrl,
      STEWARD_REDIS_PREFIX: prefix,
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
      STEWARD_MODEL: 'gpt-test',
      STEWARD_JWT_SECRET: secret,
      PORT: String(port),
      STEWARD_MCP_SERVERS: JSON.stringify([
        { name: 'gmail', transport: 'streamable-http', url: gmail.mcpUrl, auth: { type: 'oauth' } },
      ]),
      STEWARD_OAUTH_REDIRECT_URL: `http://127.0.0.1:${port}/api/v1/oauth/callback`,
      STEWARD_OAUTH_COMPLETION_URL: completionUrl,
      STEWARD_VAULT_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
    });
    const clientOf = async (userId: string) =>
      createStewardClient({
        url: orchestrator?.url ?? '',
        token: await signTestToken({ secret, userId, expiresIn: '10m' }),
      });
    const ann = await clientOf('ann');
    const mallory = await clientOf('mallory');

    // Mallory begins connecting and gets ann to open the URL; ann signs in at Gmail as alice.
    const lure = await mallory.connect('gmail');
    const lured = await authorizeInBrowser(lure.authorization_url, 'alice');
    await expect(ann.completeAuthorization(lured)).rejects.toMatchObject({
      status: 400,
      details: { reason: 'wrong_user' },
    });
    expect(await mallory.connections()).toEqual([{ server: 'gmail', status: 'not_connected' }]);

    // Ann connects her own.
    const started = await ann.connect('gmail');
    const callback = await authorizeInBrowser(started.authorization_url, 'alice');
    expect(await ann.completeAuthorization(callback)).toEqual({ server: 'gmail', outcome: 'connected' });
    expect(await ann.connections()).toEqual([
      expect.objectContaining({ server: 'gmail', status: 'connected' }),
    ]);
    expect(await mallory.connections()).toEqual([{ server: 'gmail', status: 'not_connected' }]);
  });
});
