import { connect } from 'node:net';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { createJwtAuth } from './auth.ts';
import { createStewardClient } from './client.ts';
import { readSse, secret, testServers, userToken } from './test-helpers.ts';

const { server } = testServers();

/** Sends raw bytes and resolves the first line the server answers (or '' when it closes). */
function raw(url: string, request: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(request));
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk.toString();
    });
    socket.on('close', () => resolve(answer.split('\r\n')[0] ?? ''));
    socket.on('error', () => resolve(answer.split('\r\n')[0] ?? ''));
    setTimeout(() => socket.destroy(), 2_000);
  });
}

const upgrade = (target: string, host = 'localhost') =>
  `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
  'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';

describe('hostile requests', () => {
  it('answers a malformed upgrade target with 400 and stays up', async () => {
    const { url } = await server([{ text: 'still here' }]);
    expect(await raw(url, upgrade('http://[/ws'))).toBe('HTTP/1.1 400 Bad Request');
    const token = await userToken('ann');
    const answer = await fetch(`${url}/api/v1/respond`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ input: 'Hi' }),
    });
    expect(answer.status).toBe(202);
  });

  it('answers upgrades to other paths with 404 instead of leaving them hanging', async () => {
    const { url } = await server([]);
    expect(await raw(url, upgrade('/not-ws'))).toBe('HTTP/1.1 404 Not Found');
  });

  it('serves a request with a malformed Host header (no 500), and refuses control characters in ids with 400', async () => {
    const { url } = await server([]);
    // No token: the ordinary 401, not a crash on the Host header.
    expect(await raw(url, 'GET /api/v1/runs/x HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n')).toBe(
      'HTTP/1.1 401 Unauthorized',
    );
    const token = await userToken('ann');
    const headers = { authorization: `Bearer ${token}` };
    expect((await fetch(`${url}/api/v1/runs/%00`, { headers })).status).toBe(400);
    expect((await fetch(`${url}/api/v1/history?session_id=%00`, { headers })).status).toBe(400);
  });
});

describe('token subjects', () => {
  it('refuses a token whose sub or run_id holds a control, space or invisible character with 401', async () => {
    const auth = createJwtAuth({ secret });
    for (const userId of ['ann\u0000', 'ann\u0001', 'ann smith', 'ann\u200b']) {
      await expect(auth.authenticate(await userToken(userId))).rejects.toMatchObject({ status: 401 });
    }
    const runToken = await new SignJWT({ run_id: 'run\u0000' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('ann')
      .setAudience('steward:run')
      .setIssuer('steward')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(secret));
    await expect(auth.authenticate(runToken)).rejects.toMatchObject({ status: 401 });
    await expect(auth.authenticate(await userToken('auth0|ann@example.com'))).resolves.toMatchObject({
      userId: 'auth0|ann@example.com',
    });
  });
});

describe('run tokens', () => {
  it('refuses a run-audience token without run_id, and issuing one without a run', async () => {
    const auth = createJwtAuth({ secret });
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('ann')
      .setAudience('steward:run')
      .setIssuer('steward')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(secret));
    await expect(auth.authenticate(forged)).rejects.toMatchObject({ status: 401 });
    await expect(
      auth.issueRunToken({ userId: 'ann', runId: undefined as unknown as string }),
    ).rejects.toMatchObject({
      code: 'invalid_input',
    });
  });

  it('reads and approves only: stopping the run needs the user’s own token', async () => {
    const { url, api, assistant } = await server([{ text: 'a b c d e f g h', delayMs: 30 }]);
    const run = await assistant.start({ input: 'Hi', userId: 'ann' });
    const runToken = await api.auth.issueRunToken({ userId: 'ann', runId: run.id });
    const stop = (token: string) =>
      fetch(`${url}/api/v1/runs/${run.id}/stop`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      });
    expect((await stop(runToken)).status).toBe(403);
    expect((await stop(await userToken('ann'))).status).toBe(202);
  });
});

describe('resuming an ended run', () => {
  it('answers 204 to an SSE reconnect after final, so EventSource stops reconnecting', async () => {
    const { url, assistant } = await server([{ text: 'done' }]);
    const run = await assistant.start({ input: 'Hi', userId: 'ann' });
    await run.result;
    const headers = { authorization: `Bearer ${await userToken('ann')}` };
    const all = await readSse(await fetch(`${url}/api/v1/runs/${run.id}/events`, { headers }));
    const last = String(all.at(-1)?.id);
    const again = await fetch(`${url}/api/v1/runs/${run.id}/events`, {
      headers: { ...headers, 'last-event-id': last },
    });
    expect(again.status).toBe(204);
  });
});

describe('client stream lifetimes', () => {
  it('opens no socket for a stream closed before it connected, or for an aborted signal', async () => {
    const { url, assistant } = await server([{ text: 'a b c', delayMs: 20 }]);
    const run = await assistant.start({ input: 'Hi', userId: 'ann' });
    let opened = 0;
    class CountingWebSocket extends WebSocket {
      constructor(address: string | URL, protocols?: string | string[]) {
        super(address, protocols);
        opened++;
      }
    }
    const client = createStewardClient({
      url,
      getToken: () => userToken('ann'),
      WebSocket: CountingWebSocket,
    });
    const closed = client.stream(run.id);
    closed.close();
    const aborted = client.stream(run.id, { signal: AbortSignal.abort() });
    const seen = [];
    for await (const event of aborted) seen.push(event);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(seen).toEqual([]);
    expect(opened).toBe(0);
    await run.result;
  });

  it('ends with not_found at once when the run is not in the given session', async () => {
    const { url, assistant } = await server([{ text: 'a' }]);
    const run = await assistant.start({ input: 'Hi', userId: 'ann', sessionId: 'mine' });
    const client = createStewardClient({ url, token: await userToken('ann') });
    const started = Date.now();
    const reading = (async () => {
      for await (const _event of client.stream(run.id, { sessionId: 'other' })) {
        // Never reached.
      }
    })();
    await expect(reading).rejects.toMatchObject({ status: 404, code: 'not_found' });
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
