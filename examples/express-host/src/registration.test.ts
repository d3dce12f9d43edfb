import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExpressHost, startExpressHost } from './host.ts';

// The issue's attacks on POST /api/v1/tools/register, with an admin token, against the whole
// host: the Gmail mock behind service JWTs, the registry, the API.
const jwtSecret = randomBytes(32).toString('base64url');
let host: ExpressHost;
let attacker: Server;
let attackerUrl: string;
/** Every Authorization header the attacker's server received. */
const captured: string[] = [];

beforeAll(async () => {
  attacker = createServer((request, response) => {
    if (request.headers.authorization !== undefined) captured.push(request.headers.authorization);
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
  attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}/mcp`;
  // The operator lets admins register the attacker's (local) server: the worst case for the test.
  host = await startExpressHost({
    chunkDelayMs: 0,
    demoDesk: false,
    // The subject is the service JWTs the orchestrator signs for the Gmail mock.
    gmailAuth: 'service-jwt',
    jwtSecret,
    mcpRegistrations: { allowedOrigins: [new URL(attackerUrl).origin], allowedNetworks: ['127.0.0.1'] },
  });
});

afterAll(async () => {
  await host.stop();
  await new Promise((resolve) => attacker.close(resolve));
});

const adminToken = () =>
  new SignJWT({ roles: ['admin'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('root')
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(jwtSecret));

interface Answer {
  readonly error: {
    readonly code: string;
    readonly details: { readonly issues: readonly { readonly path: unknown; readonly code?: string }[] };
  };
}

async function register(body: unknown) {
  const response = await fetch(`${host.url}/api/v1/tools/register`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await adminToken()}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Answer };
}

describe('POST /api/v1/tools/register on the Express host', () => {
  it('refuses a stdio registration (finding 1) with a typed 400, and runs nothing', async () => {
    const marker = join(await mkdtemp(join(tmpdir(), 'steward-host-')), 'spawned');
    const attack = {
      name: 'pwn',
      transport: 'stdio',
      command: 'node',
      args: ['-e', `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'ran')`],
    };
    const answer = await register(attack);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ details: { issues: [{ path: 'transport' }] } });
    expect(existsSync(marker)).toBe(false);
    expect(host.registry.status().map((server) => server.name)).toEqual(['gmail']);
  });

  it('mints a registrant no token the Gmail mock accepts (finding 4), and sends no mail', async () => {
    const gmailAudience = new URL(host.gmail.url).origin;
    const sent = host.gmail.mailbox.sent.length;

    // Choosing the Gmail mock's audience is refused outright.
    const chosen = await register({
      name: 'mailer',
      transport: 'streamable-http',
      url: attackerUrl,
      serviceAuth: { audience: gmailAudience },
    });
    expect(chosen.status).toBe(400);
    expect(chosen.body.error).toMatchObject({
      code: 'invalid_input',
      details: { issues: [{ path: ['serviceAuth', 'audience'], code: 'audience_not_allowed' }] },
    });

    // Without one, the attacker's server gets a token for its own origin, and nothing else.
    const plain = await register({
      name: 'mailer',
      transport: 'streamable-http',
      url: attackerUrl,
      serviceAuth: {},
    });
    expect(plain.status).toBe(201);
    expect(captured.length).toBeGreaterThan(0);
    for (const authorization of captured)
      expect(decodeJwt(authorization.replace(/^Bearer /, '')).aud).toBe(new URL(attackerUrl).origin);

    // Replayed at the Gmail mock, it is refused: no email goes out without consent.
    const replayed = await fetch(`${host.gmail.url}/mcp/execute`, {
      method: 'POST',
      headers: { authorization: captured[0] as string, 'content-type': 'application/json' },
      body: JSON.stringify({
        tools: [
          {
            tool_slug: 'GMAIL_SEND_EMAIL',
            arguments: { user_id: 'me', to: 'mallory@example.com', subject: 'x', body: 'no consent' },
          },
        ],
        requestId: 'replayed',
      }),
    });
    expect(replayed.status).toBe(401);
    expect(await replayed.json()).toMatchObject({
      error_description: 'the token is meant for another audience',
    });
    expect(host.gmail.mailbox.sent.length).toBe(sent);
  });

  it('refuses servers the operator did not allow, the Gmail mock’s own origin included', async () => {
    for (const url of [host.gmail.mcpUrl, `http://localhost:${new URL(attackerUrl).port}/mcp`]) {
      const answer = await register({ name: 'other', transport: 'streamable-http', url });
      expect(answer.status, url).toBe(400);
      expect(answer.body.error.details.issues[0], url).toMatchObject({
        path: ['url'],
        code: 'origin_not_allowed',
      });
    }
  });
});
