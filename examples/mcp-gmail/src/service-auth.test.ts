import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ToolCallContext } from '@steward/core';
import { createHttpToolProvider, createMcpRegistry, createServiceTokenSigner } from '@steward/mcp';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGmailServer } from './app.ts';
import { authFromEnvironment } from './service-auth.ts';

const secret = 'the gmail mock’s shared secret, 32+ bytes';
const signer = createServiceTokenSigner({ issuer: 'steward', subject: 'svc-steward', key: secret });

type Gmail = Awaited<ReturnType<typeof startGmailServer>>;
let gmail: Gmail;
beforeAll(async () => {
  gmail = await startGmailServer({ auth: { secret, issuer: 'steward' } });
});
afterAll(() => gmail.stop());

const context = (callId: string): ToolCallContext => ({
  signal: new AbortController().signal,
  runId: 'auth-run',
  sessionId: 's1',
  userId: 'u1',
  callId,
  reportProgress: () => {},
});

const sendArgs = { user_id: 'me', to: 'bob@example.com', subject: 'Signed', body: 'With a service token.' };

describe('Steward calling the Gmail mock with service JWTs', () => {
  it('works over Streamable HTTP with the default audience (the server’s origin)', async () => {
    const registry = createMcpRegistry({
      serviceAuth: { signer },
      servers: [{ name: 'gmail', transport: 'streamable-http', url: gmail.mcpUrl, serviceAuth: {} }],
    });
    try {
      await registry.ready();
      expect(registry.status()).toMatchObject([
        { name: 'gmail', state: 'connected', transport: 'streamable-http' },
      ]);
      const before = gmail.mailbox.sent.length;
      await registry.callTool('gmail__GMAIL_SEND_EMAIL', sendArgs, context('mcp-send'));
      expect(gmail.mailbox.sent.length - before).toBe(1);
    } finally {
      await registry.close();
    }
  });

  it('fails with a typed error naming the audience when the operator set the wrong one, and sends nothing', async () => {
    const registry = createMcpRegistry({
      serviceAuth: { signer },
      servers: [
        {
          name: 'gmail',
          transport: 'streamable-http',
          url: gmail.mcpUrl,
          serviceAuth: { audience: 'https://calendar.internal' },
        },
      ],
    });
    const before = gmail.mailbox.sent.length;
    try {
      await registry.ready();
      const [status] = registry.status();
      expect(status?.state).toBe('connecting');
      expect(status?.lastError).toMatch(
        /answered 401 .*the token is meant for another audience.*refused the service token for audience https:\/\/calendar\.internal/,
      );
      await expect(
        registry.callTool('gmail__GMAIL_SEND_EMAIL', sendArgs, context('x')),
      ).rejects.toMatchObject({
        code: 'tool_unavailable',
      });
      expect(gmail.mailbox.sent.length).toBe(before);
    } finally {
      await registry.close();
    }
  });

  it('works over discover/execute, and a wrong audience is a non-retryable tool_unavailable', async () => {
    const provider = createHttpToolProvider({ name: 'gmail', url: gmail.url, serviceAuth: { signer } });
    expect((await provider.listTools()).map((tool) => tool.name)).toContain('gmail__GMAIL_SEND_EMAIL');
    const before = gmail.mailbox.sent.length;
    await provider.callTool('gmail__GMAIL_SEND_EMAIL', sendArgs, context('http-send'));
    expect(gmail.mailbox.sent.length - before).toBe(1);

    const wrong = createHttpToolProvider({
      name: 'gmail',
      url: gmail.url,
      serviceAuth: { signer, audience: 'https://calendar.internal' },
    });
    await expect(wrong.listTools()).rejects.toMatchObject({
      code: 'tool_unavailable',
      retryable: false,
      message: expect.stringMatching(/discovery: the server answered 401 .*another audience/),
      details: { status: 401, audience: 'https://calendar.internal' },
    });
  });
});

describe('the Gmail mock refusing bad service tokens', () => {
  const key = new TextEncoder().encode(secret);
  const claims = async (edit: (jwt: SignJWT) => SignJWT = (jwt) => jwt, signingKey = key) => {
    const now = Math.floor(Date.now() / 1_000);
    return edit(
      new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer('steward')
        .setSubject('svc-steward')
        .setAudience(gmail.url)
        .setIssuedAt(now)
        .setExpirationTime(now + 60),
    ).sign(signingKey);
  };
  const tamper = (token: string) => {
    const [header, payload, signature] = token.split('.');
    const claimsSet = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...claimsSet, sub: 'admin' })).toString('base64url');
    return `${header}.${forged}.${signature}`;
  };
  const credentials = async (): Promise<[string, string | undefined][]> => [
    ['missing', undefined],
    ['not bearer', 'Basic c3Rld2FyZDpodW50ZXIy'],
    ['malformed', 'Bearer not-a-jwt'],
    ['expired', `Bearer ${await claims((jwt) => jwt.setIssuedAt(0).setExpirationTime(60))}`],
    ['wrong audience', `Bearer ${await signer.tokenFor('https://calendar.internal')}`],
    ['wrong issuer', `Bearer ${await claims((jwt) => jwt.setIssuer('mallory'))}`],
    ['tampered', `Bearer ${tamper(await signer.tokenFor(gmail.url))}`],
    [
      'another key',
      `Bearer ${await claims(undefined, new TextEncoder().encode('somebody else’s 32+ byte secret!'))}`,
    ],
    [
      'alg none',
      `Bearer ${Buffer.from('{"alg":"none"}').toString('base64url')}.${(await claims()).split('.')[1]}.`,
    ],
  ];

  const mcpHeaders = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const initialize = {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'test', version: '1' } },
  };
  const sendEnvelope = (requestId: string) => ({
    tools: [{ tool_slug: 'GMAIL_SEND_EMAIL', arguments: sendArgs }],
    requestId,
  });

  it('answers 401 invalid_token on every MCP and discover/execute endpoint, and runs nothing', async () => {
    // A session opened with a valid token: a bad token must not get into it either.
    const opened = await fetch(gmail.mcpUrl, {
      method: 'POST',
      headers: { ...mcpHeaders, authorization: `Bearer ${await signer.tokenFor(gmail.url)}` },
      body: JSON.stringify(initialize),
    });
    expect(opened.status).toBe(200);
    const session = opened.headers.get('mcp-session-id') ?? '';
    await opened.body?.cancel();
    const toolCall = {
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'GMAIL_SEND_EMAIL', arguments: sendArgs },
    };
    const requests: [string, string, RequestInit][] = [
      [
        'POST /mcp initialize',
        gmail.mcpUrl,
        { method: 'POST', headers: mcpHeaders, body: JSON.stringify(initialize) },
      ],
      [
        'POST /mcp tools/call in a session',
        gmail.mcpUrl,
        {
          method: 'POST',
          headers: { ...mcpHeaders, 'mcp-session-id': session },
          body: JSON.stringify(toolCall),
        },
      ],
      ['GET /mcp', gmail.mcpUrl, { headers: { accept: 'text/event-stream', 'mcp-session-id': session } }],
      ['DELETE /mcp', gmail.mcpUrl, { method: 'DELETE', headers: { 'mcp-session-id': session } }],
      ['GET /mcp/discover', `${gmail.url}/mcp/discover`, {}],
      ['GET /.well-known/mcp', `${gmail.url}/.well-known/mcp`, {}],
      [
        'POST /mcp/execute',
        `${gmail.url}/mcp/execute`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(sendEnvelope('refused')),
        },
      ],
    ];
    const sent = gmail.mailbox.sent.length;
    for (const [label, authorization] of await credentials()) {
      for (const [endpoint, url, init] of requests) {
        const headers = new Headers(init.headers);
        if (authorization !== undefined) headers.set('authorization', authorization);
        const response = await fetch(url, { ...init, headers });
        const where = `${label} → ${endpoint}`;
        expect(response.status, where).toBe(401);
        expect(response.headers.get('www-authenticate'), where).toMatch(/^Bearer error="invalid_token"/);
        expect(await response.json(), where).toEqual({
          error: 'invalid_token',
          error_description: expect.any(String),
        });
      }
    }
    expect(gmail.mailbox.sent.length).toBe(sent);
    const metrics = await (await fetch(`${gmail.url}/metrics`)).text();
    expect(metrics).toContain(`gmail_mock_emails_sent ${sent}`);
    // The session opened with a valid token survived every refused DELETE.
    expect((await (await fetch(`${gmail.url}/healthz`)).json()).sessions).toBeGreaterThanOrEqual(1);
  });

  it('keeps /healthz and /metrics open', async () => {
    expect((await fetch(`${gmail.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${gmail.url}/metrics`)).status).toBe(200);
  });
});

describe('the Gmail mock with a JWKS', () => {
  let jwks: Server;
  let jwksUrl: string;
  const keys: object[] = [];
  beforeAll(async () => {
    jwks = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
  });
  afterAll(() => new Promise<void>((resolve) => jwks.close(() => resolve())));

  it('accepts ES256 tokens whose kid is in the key set, and refuses others', async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    keys.push({ ...(await exportJWK(pair.publicKey)), kid: 'steward-1', alg: 'ES256', use: 'sig' });
    const server = await startGmailServer({ auth: { jwksUrl, issuer: 'steward' } });
    try {
      const es256 = createServiceTokenSigner({ issuer: 'steward', key: pair.privateKey, keyId: 'steward-1' });
      const provider = createHttpToolProvider({
        name: 'gmail',
        url: server.url,
        serviceAuth: { signer: es256 },
      });
      await expect(provider.listTools()).resolves.toHaveLength(2);
      const stranger = createServiceTokenSigner({
        issuer: 'steward',
        key: (await generateKeyPair('ES256')).privateKey,
        keyId: 'steward-1',
      });
      const refused = await fetch(`${server.url}/mcp/discover`, {
        headers: { authorization: `Bearer ${await stranger.tokenFor(server.url)}` },
      });
      expect(refused.status).toBe(401);
      const hmac = await fetch(`${server.url}/mcp/discover`, {
        headers: { authorization: `Bearer ${await signer.tokenFor(server.url)}` },
      });
      expect(hmac.status).toBe(401);
    } finally {
      await server.stop();
    }
  });
});

describe('authFromEnvironment', () => {
  it('is off without a key, and reads secret, issuer and audience otherwise', () => {
    expect(authFromEnvironment({})).toBeUndefined();
    expect(authFromEnvironment({ GMAIL_MCP_JWT_SECRET: secret })).toEqual({ secret, issuer: 'steward' });
    expect(
      authFromEnvironment({
        GMAIL_MCP_JWKS_URL: 'https://steward.internal/jwks.json',
        GMAIL_MCP_JWT_ISSUER: 'orchestrator',
        GMAIL_MCP_JWT_AUDIENCE: 'https://gmail.internal',
      }),
    ).toEqual({
      jwksUrl: 'https://steward.internal/jwks.json',
      issuer: 'orchestrator',
      audience: 'https://gmail.internal',
    });
  });

  it('refuses a short secret at start', async () => {
    await expect(startGmailServer({ auth: { secret: 'short', issuer: 'steward' } })).rejects.toThrow(
      /at least 32 bytes/,
    );
  });
});
