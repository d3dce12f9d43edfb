import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGmailServer } from './app.ts';

type Gmail = Awaited<ReturnType<typeof startGmailServer>>;

const secret = 'the gmail mock’s shared secret, 32+ bytes';
const initialize = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
});

/** A raw request: fetch will not send a Host header of our choosing. */
function send(
  gmail: Gmail,
  options: { method?: string; path?: string; host?: string; origin?: string },
): Promise<{ status: number; body: string }> {
  const url = new URL(gmail.url);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: options.method ?? 'POST',
        path: options.path ?? '/mcp',
        headers: {
          host: options.host ?? url.host,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...(options.origin === undefined ? {} : { origin: options.origin }),
        },
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => {
          body += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    request.on('error', reject);
    request.end(options.method === 'GET' ? undefined : initialize);
  });
}

const modes = {
  'no auth': {},
  'service JWTs': { auth: { secret, issuer: 'steward' } },
  OAuth: { auth: { oauth: { rateLimit: false } } },
} as const;

describe.each(Object.entries(modes))('DNS rebinding protection with %s', (_mode, options) => {
  let gmail: Gmail;
  beforeAll(async () => {
    gmail = await startGmailServer(options);
  });
  afterAll(() => gmail.stop());

  it('answers a foreign Host 403 on every MCP endpoint, before any token check', async () => {
    const port = new URL(gmail.url).port;
    for (const [method, path] of [
      ['POST', '/mcp'],
      ['GET', '/mcp'],
      ['DELETE', '/mcp'],
      ['POST', '/mcp/execute'],
      ['GET', '/mcp/discover'],
      ['GET', '/.well-known/mcp'],
    ] as const) {
      const response = await send(gmail, { method, path, host: `attacker.example:${port}` });
      expect({ method, path, status: response.status }).toEqual({ method, path, status: 403 });
      expect(JSON.parse(response.body)).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 }, id: null });
    }
  });

  it('answers a foreign Origin 403, and lets its own origin, loopback names and no Origin through', async () => {
    const refused = await send(gmail, { origin: 'http://attacker.example' });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body).error.message).toBe('Invalid Origin: http://attacker.example');
    expect((await send(gmail, { origin: 'null' })).status).toBe(403);
    const expected = 'auth' in options ? 401 : 200;
    const port = new URL(gmail.url).port;
    expect((await send(gmail, {})).status).toBe(expected);
    expect((await send(gmail, { origin: gmail.url })).status).toBe(expected);
    expect((await send(gmail, { host: `localhost:${port}` })).status).toBe(expected);
  });

  it('leaves health checks and metrics alone', async () => {
    const response = await send(gmail, { method: 'GET', path: '/healthz', host: 'pod-10-0-0-7:8931' });
    expect(response.status).toBe(200);
  });
});

describe('the allowed hosts and origins', () => {
  it('take the operator’s additions, and the host names of the audience, issuer and resource', async () => {
    const gmail = await startGmailServer({
      allowedHosts: ['gmail.internal'],
      allowedOrigins: ['http://localhost:6274'],
    });
    const jwt = await startGmailServer({
      auth: { secret, issuer: 'steward', audience: 'http://gmail:8931' },
    });
    const oauth = await startGmailServer({
      auth: {
        oauth: { issuer: 'http://localhost:8931', resource: 'http://gmail-mcp:8931/mcp', rateLimit: false },
      },
    });
    try {
      expect((await send(gmail, { host: 'gmail.internal:80' })).status).toBe(200);
      expect((await send(gmail, { origin: 'http://localhost:6274' })).status).toBe(200);
      expect((await send(gmail, { origin: 'http://localhost:6275' })).status).toBe(403);
      expect((await send(jwt, { host: 'gmail:8931' })).status).toBe(401);
      expect((await send(oauth, { host: 'gmail-mcp:8931' })).status).toBe(401);
      expect((await send(oauth, { host: 'gmail-mcp:8931', origin: 'http://localhost:8931' })).status).toBe(
        401,
      );
    } finally {
      await Promise.all([gmail.stop(), jwt.stop(), oauth.stop()]);
    }
  });
});
