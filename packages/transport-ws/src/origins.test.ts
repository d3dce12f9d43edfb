import { isStewardError } from '@steward/core';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startTestServer, testServers, userToken } from './test-helpers.ts';

const app = 'http://app.example.test:3100';
const { server } = testServers();

/** Whether a WebSocket to `url` opens (true) or is refused (the HTTP status of the refusal). */
function upgrade(url: string, origin?: string): Promise<true | number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, origin === undefined ? {} : { origin });
    ws.on('open', () => {
      ws.close();
      resolve(true);
    });
    ws.on('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('error', () => {});
  });
}

describe('allowedOrigins: CORS and Origin checks for pages on another origin', () => {
  it('answers a listed origin with CORS headers, its preflight included, and runs the request', async () => {
    const { url } = await server([{ text: 'hi' }], { api: { allowedOrigins: [app] } });
    const preflight = await fetch(`${url}/api/v1/respond`, {
      method: 'OPTIONS',
      headers: {
        origin: app,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(app);
    expect(preflight.headers.get('access-control-allow-methods')).toBe('POST');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization');
    expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();

    const response = await fetch(`${url}/api/v1/respond`, {
      method: 'POST',
      headers: {
        origin: app,
        authorization: `Bearer ${await userToken('ann')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ input: 'Hello' }),
    });
    expect(response.status).toBe(202);
    expect(response.headers.get('access-control-allow-origin')).toBe(app);
    expect(response.headers.get('vary')).toContain('Origin');
    // An error answer carries them too, or the page could not read why it failed.
    const refused = await fetch(`${url}/api/v1/history?session_id=nope`, { headers: { origin: app } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe(app);
    expect(refused.headers.get('access-control-expose-headers')).toContain('www-authenticate');
  });

  it('refuses any other origin with 403 before anything runs, preflight included', async () => {
    const started = await server([{ text: 'hi' }], { api: { allowedOrigins: [app] } });
    const evil = 'https://evil.example.test';
    const preflight = await fetch(`${started.url}/api/v1/respond`, {
      method: 'OPTIONS',
      headers: { origin: evil, 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(403);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    const response = await fetch(`${started.url}/api/v1/respond`, {
      method: 'POST',
      headers: {
        origin: evil,
        authorization: `Bearer ${await userToken('ann')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ input: 'Hello' }),
    });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ error: { code: 'forbidden' } });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('lets requests without Origin (servers, curl) through, without CORS headers', async () => {
    const { url } = await server([{ text: 'hi' }], { api: { allowedOrigins: [app] } });
    const response = await fetch(`${url}/api/v1/respond`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await userToken('ann')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ input: 'Hello' }),
    });
    expect(response.status).toBe(202);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('checks the Origin of WebSocket upgrades, which browsers never subject to CORS', async () => {
    const started = await server([{ text: 'one two three' }], { api: { allowedOrigins: [app] } });
    const token = await userToken('ann');
    const run = await fetch(`${started.url}/api/v1/respond`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ input: 'Hello' }),
    });
    const { run_id: runId } = (await run.json()) as { run_id: string };
    const ws = `${started.url.replace('http', 'ws')}/ws?run_id=${runId}&token=${token}`;
    expect(await upgrade(ws, 'https://evil.example.test')).toBe(403);
    expect(await upgrade(ws, app)).toBe(true);
    expect(await upgrade(ws)).toBe(true);
  });

  it('changes nothing when unset: any origin, no CORS headers', async () => {
    const started = await startTestServer([{ text: 'hi' }]);
    try {
      const response = await fetch(`${started.url}/api/v1/history?session_id=x`, {
        headers: { origin: 'https://anywhere.example.test' },
      });
      expect(response.status).toBe(401);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await started.close();
    }
  });

  it('rejects an allowlist entry that is not an origin, naming it', async () => {
    for (const entry of [
      'https://app.example.test/',
      'https://app.example.test/chat',
      '*',
      'https://*.example.test',
      'ftp://x.test',
    ]) {
      const failure = await startTestServer([], { api: { allowedOrigins: [entry] } }).then(
        (started) => started.close().then(() => undefined),
        (error: unknown) => error,
      );
      expect(isStewardError(failure), entry).toBe(true);
      expect(String((failure as Error).message)).toContain('allowedOrigins');
    }
  });
});
