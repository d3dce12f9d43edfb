import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StewardEvent } from '@steward/core';
import express from 'express';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { createStewardApi } from './api.ts';
import { createJwtAuth } from './auth.ts';
import { toNodeHandler } from './node-handler.ts';
import { mailTool, readSse, secret, testServers, userToken } from './test-helpers.ts';

const { server, cleanups } = testServers();

async function call(
  url: string,
  init: {
    method?: string;
    token?: string;
    body?: unknown;
    raw?: string;
    headers?: Record<string, string>;
  } = {},
) {
  const response = await fetch(url, {
    method: init.method ?? (init.body === undefined && init.raw === undefined ? 'GET' : 'POST'),
    headers: {
      ...(init.token === undefined ? {} : { authorization: `Bearer ${init.token}` }),
      ...(init.body === undefined && init.raw === undefined ? {} : { 'content-type': 'application/json' }),
      ...init.headers,
    },
    ...(init.raw !== undefined
      ? { body: init.raw }
      : init.body === undefined
        ? {}
        : { body: JSON.stringify(init.body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text === '' ? undefined : JSON.parse(text),
  };
}

describe('POST /api/v1/respond', () => {
  it('starts a run and answers { run_id, session_id } at once', async () => {
    const { url, assistant } = await server([{ text: 'Hello there' }]);
    const token = await userToken('ann');
    const answer = await call(`${url}/api/v1/respond`, {
      token,
      body: { input: 'Hi', session_id: 'ann-s1' },
    });
    expect(answer.status).toBe(202);
    expect(answer.body).toEqual({ run_id: expect.any(String), session_id: 'ann-s1' });
    // The run exists as soon as its id is handed out.
    expect(await assistant.getRun(answer.body.run_id, { userId: 'ann' })).toBeDefined();
  });

  it.each([
    ['bad JSON', { raw: '{"input": ' }, 400, 'invalid_request'],
    ['a missing input', { body: {} }, 400, 'invalid_request'],
    ['a wrong type', { body: { input: 42 } }, 400, 'invalid_request'],
    ['an empty input', { body: { input: '   ' } }, 400, 'invalid_request'],
    ['an unknown option', { body: { input: 'Hi', options: { temperature: 2 } } }, 400, 'invalid_request'],
    [
      'a bad option value',
      { body: { input: 'Hi', options: { max_output_tokens: -1 } } },
      400,
      'invalid_request',
    ],
    ['an unknown field', { body: { input: 'Hi', user_id: 'bob' } }, 400, 'invalid_request'],
    ['an oversized body', { body: { input: 'x'.repeat(2 * 1024 * 1024) } }, 413, 'payload_too_large'],
    [
      'a form body',
      { raw: 'input=Hi', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      415,
      'unsupported_media_type',
    ],
  ])('refuses %s with %i and the schema details, never a 500', async (_name, init, status, code) => {
    const { url } = await server([]);
    const answer = await call(`${url}/api/v1/respond`, { token: await userToken('ann'), ...init });
    expect(answer.status).toBe(status);
    expect(answer.body.error.code).toBe(code);
    if (status === 400 && !('raw' in init))
      expect(answer.body.error.details.issues.length).toBeGreaterThan(0);
  });

  it('answers 409 while the session has an active run, and 429 with Retry-After over the rate limit', async () => {
    const { url } = await server([{ text: 'a b c d e f g h', delayMs: 30 }, { text: 'x' }, { text: 'y' }], {
      rateLimit: { runs: 2, windowMs: 60_000 },
    });
    const token = await userToken('ann');
    expect(
      (await call(`${url}/api/v1/respond`, { token, body: { input: 'Hi', session_id: 's' } })).status,
    ).toBe(202);
    const busy = await call(`${url}/api/v1/respond`, { token, body: { input: 'Hi', session_id: 's' } });
    expect(busy).toMatchObject({ status: 409, body: { error: { code: 'session_busy' } } });
    const limited = await call(`${url}/api/v1/respond`, { token, body: { input: 'Hi' } });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('refuses another user’s session as 404', async () => {
    const { url } = await server([{ text: 'mine' }, { text: 'theirs' }]);
    const ann = await call(`${url}/api/v1/respond`, { token: await userToken('ann'), body: { input: 'Hi' } });
    const bob = await call(`${url}/api/v1/respond`, {
      token: await userToken('bob'),
      body: { input: 'Hi', session_id: ann.body.session_id },
    });
    expect(bob).toMatchObject({ status: 404 });
  });
});

describe('auth', () => {
  it.each([
    ['no token', undefined],
    ['a malformed token', 'not.a.jwt'],
    ['a token signed with another secret', 'other'],
    ['an expired token', 'expired'],
    ['a token without sub', 'nosub'],
  ])('answers 401 for %s', async (_name, kind) => {
    const { url } = await server([]);
    const token =
      kind === 'other'
        ? await new SignJWT({})
            .setProtectedHeader({ alg: 'HS256' })
            .setSubject('ann')
            .setExpirationTime('5m')
            .sign(new TextEncoder().encode('a-completely-different-secret-of-32-bytes'))
        : kind === 'expired'
          ? await userToken('ann', {}, '-1m')
          : kind === 'nosub'
            ? await new SignJWT({})
                .setProtectedHeader({ alg: 'HS256' })
                .setExpirationTime('5m')
                .sign(new TextEncoder().encode(secret))
            : kind;
    const answer = await call(`${url}/api/v1/respond`, {
      ...(token === undefined ? {} : { token }),
      body: { input: 'Hi' },
    });
    expect(answer.status).toBe(401);
    expect(answer.body.error.code).toBe('unauthorized');
  });

  it('verifies ES256 user tokens against an OIDC provider’s JWKS', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    const jwksServer = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => jwksServer.close(() => resolve())));
    const auth = createJwtAuth({
      jwksUrl: `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`,
      issuer: 'https://idp.example',
      audience: 'steward',
      runTokenSecret: secret,
    });
    const sign = (issuer: string) =>
      new SignJWT({ roles: ['admin'] })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setSubject('ann')
        .setIssuer(issuer)
        .setAudience('steward')
        .setExpirationTime('5m')
        .sign(privateKey);
    expect(await auth.authenticate(await sign('https://idp.example'))).toEqual({
      userId: 'ann',
      roles: ['admin'],
    });
    await expect(auth.authenticate(await sign('https://evil.example'))).rejects.toMatchObject({
      status: 401,
    });
    // An HS256 token is not accepted where only the JWKS is configured (no algorithm confusion).
    await expect(auth.authenticate(await userToken('ann'))).rejects.toMatchObject({ status: 401 });
  });

  it('refuses a configuration without a key, and a short secret, with invalid_options', () => {
    const saved = process.env.STEWARD_JWT_SECRET;
    delete process.env.STEWARD_JWT_SECRET;
    try {
      expect(() => createJwtAuth()).toThrow(
        expect.objectContaining({ code: 'invalid_options', message: expect.stringMatching(/secret/) }),
      );
      expect(() => createJwtAuth({ secret: 'short' })).toThrow(
        expect.objectContaining({ code: 'invalid_options', message: expect.stringMatching(/32/) }),
      );
    } finally {
      if (saved !== undefined) process.env.STEWARD_JWT_SECRET = saved;
    }
  });

  it('scopes a run token to its run: read and approve it, nothing else', async () => {
    const { tool, sent } = mailTool();
    const { url, api } = await server(
      [
        { toolCalls: [{ name: 'send_email', args: { to: 'x@example.com' }, callId: 'call-1' }] },
        { text: 'Sent.' },
        { text: 'other run' },
      ],
      { tools: [tool] },
    );
    const ann = await userToken('ann', { roles: ['admin'] });
    const first = (await call(`${url}/api/v1/respond`, { token: ann, body: { input: 'Mail x' } })).body;
    const other = (await call(`${url}/api/v1/respond`, { token: ann, body: { input: 'Other' } })).body;
    const runToken = await api.auth.issueRunToken({ userId: 'ann', runId: first.run_id });
    expect(await api.auth.authenticate(runToken)).toEqual({ userId: 'ann', roles: [], runId: first.run_id });

    expect((await call(`${url}/api/v1/runs/${first.run_id}`, { token: runToken })).status).toBe(200);
    expect((await call(`${url}/api/v1/runs/${other.run_id}`, { token: runToken })).status).toBe(404);
    expect(
      (await call(`${url}/api/v1/runs/${other.run_id}/stop`, { token: runToken, method: 'POST' })).status,
    ).toBe(403);
    expect((await call(`${url}/api/v1/respond`, { token: runToken, body: { input: 'Hi' } })).status).toBe(
      403,
    );
    expect(
      (await call(`${url}/api/v1/history?session_id=${first.session_id}`, { token: runToken })).status,
    ).toBe(403);
    expect(
      (await call(`${url}/api/v1/tools/register`, { token: runToken, body: { name: 'x' } })).status,
    ).toBe(403);

    await waitForApproval(url, first.run_id, ann);
    // The waiting call reads back by run and by call id, with what it would do.
    const waiting = {
      call_id: 'call-1',
      run_id: first.run_id,
      session_id: first.session_id,
      tool_slug: 'send_email',
      arguments: { to: 'x@example.com' },
      status: 'pending',
    };
    expect(await call(`${url}/api/v1/runs/${first.run_id}/approvals`, { token: runToken })).toMatchObject({
      status: 200,
      body: { run_id: first.run_id, approvals: [waiting] },
    });
    expect(await call(`${url}/api/v1/approvals/call-1`, { token: ann })).toMatchObject({
      status: 200,
      body: waiting,
    });
    // Neither another user nor another run's token reaches the call.
    const bob = await userToken('bob');
    const otherToken = await api.auth.issueRunToken({ userId: 'ann', runId: other.run_id });
    expect((await call(`${url}/api/v1/approvals/call-1`, { token: bob })).status).toBe(404);
    expect((await call(`${url}/api/v1/approvals/call-1`, { token: otherToken })).status).toBe(404);
    expect((await call(`${url}/api/v1/runs/${first.run_id}/approvals`, { token: bob })).status).toBe(404);
    const decided = await call(`${url}/api/v1/runs/${first.run_id}/approvals`, {
      token: runToken,
      body: { call_id: 'call-1', decision: 'approve' },
    });
    expect(decided).toMatchObject({ status: 200, body: { call_id: 'call-1', status: 'approved' } });
    await waitForStatus(url, first.run_id, ann, 'completed');
    expect(sent).toEqual(['x@example.com']);
  });
});

describe('history, runs and cross-user access', () => {
  it('returns the caller’s conversation with structured tool outputs, and 404 for anyone else’s', async () => {
    const { tool } = mailTool();
    const { url, assistant } = await server(
      [{ toolCalls: [{ name: 'send_email', args: { to: 'a@b.c' }, callId: 'c1' }] }, { text: 'Done.' }],
      { tools: [tool] },
    );
    await assistant.allowTool({ userId: 'ann', toolName: 'send_email' });
    const ann = await userToken('ann');
    const { run_id, session_id } = (
      await call(`${url}/api/v1/respond`, { token: ann, body: { input: 'Mail' } })
    ).body;
    await waitForStatus(url, run_id, ann, 'completed');
    const history = await call(`${url}/api/v1/history?session_id=${session_id}`, { token: ann });
    expect(history.status).toBe(200);
    expect(history.body.messages.map((message: { role: string }) => message.role)).toEqual([
      'user',
      'assistant',
      'tool',
      'assistant',
    ]);
    expect(history.body.messages[2]).toMatchObject({
      role: 'tool',
      result: { sent: true, to: 'a@b.c' },
      run_id,
    });

    const bob = await userToken('bob');
    for (const path of [
      `/api/v1/history?session_id=${session_id}`,
      `/api/v1/runs/${run_id}`,
      `/api/v1/runs/${run_id}/events`,
    ]) {
      expect((await call(`${url}${path}`, { token: bob })).status, path).toBe(404);
    }
    for (const [path, body] of [
      [`/api/v1/runs/${run_id}/stop`, undefined],
      [`/api/v1/runs/${run_id}/approvals`, { call_id: 'c1', decision: 'approve' }],
    ] as const) {
      expect(
        (await call(`${url}${path}`, { token: bob, method: 'POST', ...(body ? { body } : {}) })).status,
        path,
      ).toBe(404);
    }
    expect((await call(`${url}/api/v1/history`, { token: ann })).status).toBe(400);
    // A malformed escape in a path parameter is the client's error, not a crash.
    expect(await call(`${url}/api/v1/runs/%E0%A4%A`, { token: ann })).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_request', details: { issues: [{ path: 'run_id' }] } } },
    });
    expect((await call(`${url}/api/v1/runs/${run_id}`, { token: ann, method: 'DELETE' })).status).toBe(405);
  });
});

describe('GET /api/v1/runs/:run_id/events (SSE)', () => {
  it('streams every event with id = seq, and resumes after Last-Event-ID exactly once', async () => {
    const { url } = await server([{ text: 'one two three four five six', delayMs: 10 }]);
    const token = await userToken('ann');
    const { run_id } = (await call(`${url}/api/v1/respond`, { token, body: { input: 'Count' } })).body;
    const head = await readSse(
      await fetch(`${url}/api/v1/runs/${run_id}/events`, { headers: { authorization: `Bearer ${token}` } }),
      3,
    );
    expect(head.map((event) => event.id)).toEqual([1, 2, 3]);
    const rest = await readSse(
      await fetch(`${url}/api/v1/runs/${run_id}/events`, {
        headers: { authorization: `Bearer ${token}`, 'last-event-id': '3' },
      }),
    );
    const all = [...head, ...rest];
    expect(all.map((event) => event.id)).toEqual(all.map((_, index) => index + 1));
    expect(all.every((event) => event.data.seq === event.id && event.data.run_id === run_id)).toBe(true);
    expect(rest.at(-1)?.data).toMatchObject({ type: 'final', stop_reason: 'stop' });
    // A finished run replays from storage.
    const replay = await readSse(
      await fetch(`${url}/api/v1/runs/${run_id}/events?last_seq=0`, {
        headers: { authorization: `Bearer ${token}` },
      }),
    );
    expect(replay.map((event) => event.data)).toEqual(all.map((event) => event.data));
    expect(
      (await call(`${url}/api/v1/runs/${run_id}/events`, { token, headers: { 'last-event-id': 'abc' } }))
        .status,
    ).toBe(400);
  });
});

describe('POST /api/v1/runs/:run_id/stop', () => {
  it('aborts the run, keeps the partial answer, and a dropped reader does not stop it', async () => {
    const { url, assistant } = await server([
      { text: 'a b c d e f g h i j k l m n o p', delayMs: 25 },
      { text: 'q r s t', delayMs: 25 },
    ]);
    const token = await userToken('ann');
    // A reader that goes away mid-run: the run still finishes and is saved.
    const survivor = (await call(`${url}/api/v1/respond`, { token, body: { input: 'Go' } })).body;
    await readSse(
      await fetch(`${url}/api/v1/runs/${survivor.run_id}/events`, {
        headers: { authorization: `Bearer ${token}` },
      }),
      3,
    );
    await waitForStatus(url, survivor.run_id, token, 'completed');

    const { run_id, session_id } = (await call(`${url}/api/v1/respond`, { token, body: { input: 'Go' } }))
      .body;
    await readSse(
      await fetch(`${url}/api/v1/runs/${run_id}/events`, { headers: { authorization: `Bearer ${token}` } }),
      3,
    );
    expect((await call(`${url}/api/v1/runs/${run_id}/stop`, { token, method: 'POST' })).status).toBe(202);
    const run = await waitForStatus(url, run_id, token, 'aborted');
    expect(run).toMatchObject({ stop_reason: 'aborted', partial: true });
    const history = await assistant.getHistory(session_id, { userId: 'ann' });
    expect(history.at(-1)?.message).toMatchObject({ role: 'assistant', partial: true });
  });
});

describe('tools/register', () => {
  it('hands an admin’s body to the registrar, refuses others with 403, and maps its validation to 400', async () => {
    const registered: unknown[] = [];
    const tools = {
      async register(config: { name?: unknown }) {
        if (typeof config.name !== 'string') {
          const { StewardError } = await import('@steward/core');
          throw new StewardError('invalid_options', 'name: expected string', {
            details: { issues: [{ path: 'name' }] },
          });
        }
        registered.push(config);
        return { name: config.name, state: 'connected' };
      },
    };
    const { url } = await server([], { api: { tools } });
    const admin = await userToken('root', { roles: ['admin'] });
    const ok = await call(`${url}/api/v1/tools/register`, {
      token: admin,
      body: { name: 'gmail', transport: 'streamable-http', url: 'http://x/mcp' },
    });
    expect(ok).toMatchObject({ status: 201, body: { server: { name: 'gmail' } } });
    const bad = await call(`${url}/api/v1/tools/register`, {
      token: admin,
      body: { transport: 'sse', url: 1 },
    });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'invalid_options' } } });
    const user = await call(`${url}/api/v1/tools/register`, {
      token: await userToken('ann'),
      body: { name: 'x' },
    });
    expect(user.status).toBe(403);
    expect(registered).toHaveLength(1);
  });
});

describe('mounting', () => {
  it('serves from Express after express.json(), passing other paths on', async () => {
    const { assistant } = await server([{ text: 'via express' }]);
    const app = express();
    app.use(express.json());
    app.use(toNodeHandler(createStewardApi({ assistant, auth: createJwtAuth({ secret }) })));
    app.get('/other', (_request, response) => {
      response.json({ host: 'route' });
    });
    const listening = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => listening.once('listening', resolve));
    cleanups.push(() => new Promise((resolve) => listening.close(() => resolve())));
    const url = `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
    const token = await userToken('ann');
    const answer = await call(`${url}/api/v1/respond`, { token, body: { input: 'Hi' } });
    expect(answer.status).toBe(202);
    expect((await call(`${url}/other`)).body).toEqual({ host: 'route' });
    expect((await waitForStatus(url, answer.body.run_id, token, 'completed')).text).toBe('via express');
  });

  it('answers Web Requests directly, as a Next route handler does', async () => {
    const { assistant } = await server([{ text: 'from fetch' }]);
    const api = createStewardApi({ assistant, auth: createJwtAuth({ secret }) });
    const token = await userToken('ann');
    const response = await api.fetch(
      new Request('http://app.local/api/v1/respond', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ input: 'Hi' }),
      }),
    );
    expect(response.status).toBe(202);
    const { run_id } = (await response.json()) as { run_id: string };
    const events = await readSse(
      await api.fetch(
        new Request(`http://app.local/api/v1/runs/${run_id}/events`, {
          headers: { authorization: `Bearer ${token}` },
        }),
      ),
    );
    expect(events.map((event) => (event.data as StewardEvent).type).at(-1)).toBe('final');
    expect((await api.fetch(new Request('http://app.local/elsewhere'))).status).toBe(404);
  });
});

async function waitForStatus(url: string, runId: string, token: string, status: string) {
  for (let attempt = 0; attempt < 200; attempt++) {
    const run = await call(`${url}/api/v1/runs/${runId}`, { token });
    if (run.body?.status === status) return run.body;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`Run ${runId} never reached ${status}`);
}

async function waitForApproval(url: string, runId: string, token: string) {
  const response = await fetch(`${url}/api/v1/runs/${runId}/events`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const seen = await readSse(response, (event) => event.data.type === 'approval_required');
  expect(seen.at(-1)?.data.type).toBe('approval_required');
}
