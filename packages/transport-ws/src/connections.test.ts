import { StewardError, type StewardEvent, type ToolProvider } from '@steward/core';
import { describe, expect, it } from 'vitest';
import { createJwtAuth } from './auth.ts';
import { createStewardClient, StewardClientError } from './client.ts';
import type { Authorizations } from './connections.ts';
import { open, secret, testServers, userToken } from './test-helpers.ts';

const { server } = testServers();

/**
 * An in-memory stand-in for the MCP registry's OAuth side: single-use states bound to a user
 * (and the run and call that waited), and one `mail` server whose tool refuses users who have
 * not connected with `authorization_required`, as the registry's per-user servers do.
 */
function fakeAuthorizations() {
  const pending = new Map<string, { server: string; userId: string; runId?: string; callId?: string }>();
  const connected = new Map<string, string>();
  let counter = 0;
  const calls: string[] = [];
  const authorizations: Authorizations = {
    async beginAuthorization({ server: name, userId, runId, callId }) {
      if (name !== 'mail') throw new StewardError('invalid_input', `${name} is not a server users connect`);
      const state = `state-${++counter}-abcdefghijklmnop`;
      pending.set(state, {
        server: name,
        userId,
        ...(runId === undefined ? {} : { runId }),
        ...(callId === undefined ? {} : { callId }),
      });
      return {
        server: name,
        authorizationUrl: `https://auth.example/authorize?state=${state}`,
        state,
        expiresAt: new Date(Date.now() + 600_000).toISOString(),
      };
    },
    async completeAuthorization({ state, code, error }) {
      const found = pending.get(state);
      if (found === undefined)
        throw new StewardError('authorization_failed', 'unknown state', {
          details: { reason: 'unknown_state' },
        });
      pending.delete(state);
      if (error !== undefined)
        throw new StewardError('authorization_failed', `denied: ${error}`, {
          details: { ...found, reason: 'denied', error },
        });
      calls.push(`complete:${code}`);
      connected.set(found.userId, '2030-01-01T00:00:00.000Z');
      return { ...found, scopes: ['mail.read'] };
    },
    async connections(userId) {
      const at = connected.get(userId);
      return [
        at === undefined
          ? { server: 'mail', status: 'not_connected' }
          : { server: 'mail', status: 'connected', scopes: ['mail.read'], connectedAt: at },
      ];
    },
    async disconnect({ server: name, userId }) {
      return name === 'mail' && connected.delete(userId);
    },
  };
  const provider: ToolProvider = {
    name: 'mail',
    listTools: async () => [
      { name: 'mail__inbox', description: 'Inbox', inputSchema: { type: 'object' }, sideEffect: false },
    ],
    async callTool(_name, _args, context) {
      if (!connected.has(context.userId)) {
        const started = await authorizations.beginAuthorization({
          server: 'mail',
          userId: context.userId,
          runId: context.runId,
          callId: context.callId,
        });
        throw new StewardError('authorization_required', 'Connect mail first', {
          details: { ...started, scopes: ['mail.read'] },
        });
      }
      return { messages: 201 };
    },
  };
  return { authorizations, provider, pending, calls, connected };
}

async function pausedRun(api: { url: string; assistant: import('@steward/core').Assistant }, userId = 'ann') {
  const token = await userToken(userId);
  const run = await api.assistant.start({ input: 'Inbox?', userId });
  const socket = open(api.url, { run_id: run.id }, { authorization: `Bearer ${token}` });
  const frames = await socket.until((frame) => frame.type === 'authorization_required');
  const required = frames.find((frame) => frame.type === 'authorization_required') as unknown as Extract<
    StewardEvent,
    { type: 'authorization_required' }
  >;
  await expect
    .poll(async () => (await api.assistant.getRun(run.id, { userId }))?.status)
    .toBe('awaiting_approval');
  return {
    run,
    socket,
    required,
    state: new URL(required.authorization_url).searchParams.get('state') as string,
  };
}

const steps = [
  { toolCalls: [{ name: 'mail__inbox', arguments: {}, callId: 'c-inbox' }] },
  { text: 'You have mail.' },
];

describe('the OAuth callback and connection routes', () => {
  it('completes the waiting call from the callback (no bearer), once; a used or bad state changes nothing', async () => {
    const fake = fakeAuthorizations();
    const api = await server(steps, {
      tools: [fake.provider],
      limits: { approvalPollMs: 10 },
      api: { authorizations: fake.authorizations },
    });
    const { run, socket, required, state } = await pausedRun(api);
    expect(required).toMatchObject({ call_id: 'c-inbox', tool_slug: 'mail__inbox', server: 'mail' });

    const callback = `${api.url}/api/v1/oauth/callback?code=the-code&state=${state}`;
    const done = await fetch(callback);
    expect(done.status).toBe(200);
    expect(done.headers.get('content-type')).toContain('text/html');
    expect(done.headers.get('cache-control')).toBe('no-store');
    expect(await done.text()).toContain('Connected. You can close this tab.');
    expect((await run.result).stopReason).toBe('stop');
    await socket.until((frame) => frame.type === 'final');
    const types = socket.frames.map((frame) => frame.type);
    expect(types).toContain('authorization_resolved');
    expect(socket.frames.find((frame) => frame.type === 'tool_result')).toMatchObject({
      result: { messages: 201 },
    });
    socket.ws.close();
    const events = (await api.assistant.getRunEvents(run.id, { userId: 'ann' })).length;

    // Used: a 400 page naming the reason, and nothing changes.
    const again = await fetch(callback);
    expect(again.status).toBe(400);
    expect(await again.text()).toContain('data-reason="unknown_state"');
    expect(fake.calls).toEqual(['complete:the-code']);
    expect(await api.assistant.getRunEvents(run.id, { userId: 'ann' })).toHaveLength(events);
    // Neither code nor error, or no state: refused before the state is touched.
    for (const query of ['state=whatever', 'code=x', '']) {
      const bad = await fetch(`${api.url}/api/v1/oauth/callback?${query}`);
      expect(bad.status).toBe(400);
      expect(await bad.text()).toContain('data-code="invalid_request"');
    }
  });

  it('tells the run at once when the user declines at the authorization server', async () => {
    const fake = fakeAuthorizations();
    const api = await server(steps, {
      tools: [fake.provider],
      limits: { approvalPollMs: 10 },
      api: { authorizations: fake.authorizations },
    });
    const { run, socket, state } = await pausedRun(api);
    const declined = await fetch(`${api.url}/api/v1/oauth/callback?error=access_denied&state=${state}`);
    expect(declined.status).toBe(200);
    expect(await declined.text()).toContain('You declined');
    expect((await run.result).stopReason).toBe('stop');
    await socket.until((frame) => frame.type === 'final');
    expect(socket.frames.find((frame) => frame.type === 'authorization_resolved')).toMatchObject({
      outcome: 'declined',
    });
    expect(socket.frames.find((frame) => frame.type === 'tool_result')).toMatchObject({
      error: { code: 'tool_authorization_declined' },
    });
    socket.ws.close();
  });

  it('redirects to the configured page with the outcome', async () => {
    const fake = fakeAuthorizations();
    const api = await server(steps, {
      tools: [fake.provider],
      api: {
        authorizations: fake.authorizations,
        authorizationReturnUrl: 'https://app.example/settings?tab=1',
      },
    });
    const started = await fake.authorizations.beginAuthorization({ server: 'mail', userId: 'ann' });
    const response = await fetch(`${api.url}/api/v1/oauth/callback?code=c&state=${started.state}`, {
      redirect: 'manual',
    });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe(
      'https://app.example/settings?tab=1&outcome=connected&server=mail',
    );
  });

  it('lists, connects and disconnects the token user’s servers; checks tokens and names', async () => {
    const fake = fakeAuthorizations();
    const api = await server([], { api: { authorizations: fake.authorizations } });
    const client = createStewardClient({ url: api.url, token: await userToken('ann') });
    expect(await client.connections()).toEqual([{ server: 'mail', status: 'not_connected' }]);
    const started = await client.connect('mail');
    expect(started).toMatchObject({
      server: 'mail',
      state: expect.any(String),
      expires_at: expect.any(String),
    });
    expect(started.authorization_url).toContain(started.state);
    expect(fake.pending.get(started.state)).toEqual({ server: 'mail', userId: 'ann' });
    expect((await fetch(`${api.url}/api/v1/oauth/callback?code=c&state=${started.state}`)).status).toBe(200);
    expect(await client.connections()).toEqual([
      {
        server: 'mail',
        status: 'connected',
        scopes: ['mail.read'],
        connected_at: '2030-01-01T00:00:00.000Z',
      },
    ]);
    // Bob's list is his own.
    const bob = createStewardClient({ url: api.url, token: await userToken('bob') });
    expect(await bob.connections()).toEqual([{ server: 'mail', status: 'not_connected' }]);
    expect(await bob.disconnect('mail')).toBe(false);
    expect(await client.disconnect('mail')).toBe(true);
    expect(await client.disconnect('mail')).toBe(false);

    await expect(client.connect('calendar')).rejects.toMatchObject({ status: 400, code: 'invalid_input' });
    const badName = await fetch(`${api.url}/api/v1/connections/%00mail`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await userToken('ann')}` },
    });
    expect(badName.status).toBe(400);
    for (const [method, path] of [
      ['GET', '/api/v1/connections'],
      ['POST', '/api/v1/connections/mail'],
      ['DELETE', '/api/v1/connections/mail'],
    ] as const) {
      expect((await fetch(`${api.url}${path}`, { method })).status).toBe(401);
    }
    const runToken = await createJwtAuth({ secret }).issueRunToken({ userId: 'ann', runId: 'r-1' });
    const withRunToken = createStewardClient({ url: api.url, token: runToken });
    await expect(withRunToken.connections()).rejects.toMatchObject({ status: 403 });
  });

  it('answers 404 when connections are not enabled', async () => {
    const api = await server([]);
    const client = createStewardClient({ url: api.url, token: await userToken('ann') });
    const refused = await client.connections().catch((error: unknown) => error);
    expect(StewardClientError.isInstance(refused) && refused.status).toBe(404);
    expect((await fetch(`${api.url}/api/v1/oauth/callback?code=c&state=s`)).status).toBe(404);
  });
});
