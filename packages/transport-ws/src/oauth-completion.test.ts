import type { StewardError } from '@steward/core';
import { describe, expect, it } from 'vitest';
import { createJwtAuth } from './auth.ts';
import { createStewardClient, readAuthorizationCallback } from './client.ts';
import { fakeAuthorizations, inboxSteps, pausedRun } from './oauth-test-helpers.ts';
import { secret, testServers, userToken } from './test-helpers.ts';

const { server } = testServers();
const completionUrl = 'https://app.example/connections/callback?from=oauth';

async function postComplete(url: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${url}/api/v1/oauth/complete`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

describe('GET /api/v1/oauth/callback', () => {
  it('hands the query to the completion page (303) and never completes anything itself', async () => {
    const fake = fakeAuthorizations();
    const api = await server([], { api: { authorizations: fake.authorizations, oauth: { completionUrl } } });
    const { state } = await fake.authorizations.beginAuthorization({ server: 'mail', userId: 'ann' });

    const response = await fetch(
      `${api.url}/api/v1/oauth/callback?code=the-code&state=${state}&iss=https%3A%2F%2Fauth.example&scope=x`,
      { redirect: 'manual' },
    );
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe('https://app.example/connections/callback');
    // The page's own query stays; code and state are added; nothing else is passed on.
    expect([...location.searchParams]).toEqual([
      ['from', 'oauth'],
      ['code', 'the-code'],
      ['state', state],
    ]);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');

    const denied = await fetch(
      `${api.url}/api/v1/oauth/callback?error=access_denied&error_description=The+user+said+no&state=${state}`,
      { redirect: 'manual' },
    );
    expect(denied.status).toBe(303);
    expect(readAuthorizationCallback(denied.headers.get('location') ?? '')).toEqual({
      state,
      error: 'access_denied',
      error_description: 'The user said no',
    });
    // Nothing was redeemed: the state waits for its user.
    expect(fake.calls).toEqual([]);
    expect(fake.pending.has(state)).toBe(true);
  });

  it('refuses a query that is not a callback with a 400 page, before any redirect', async () => {
    const fake = fakeAuthorizations();
    const api = await server([], { api: { authorizations: fake.authorizations, oauth: { completionUrl } } });
    for (const query of [
      '',
      'state=state-1-abcdefghijklmnop',
      'code=x',
      'code=x&state=with%20space',
      'code=x&state=a%00b',
      `code=x&state=${'s'.repeat(513)}`,
      `code=${'c'.repeat(4_097)}&state=state-1-abcdefghijklmnop`,
      'code=caf%C3%A9&state=state-1-abcdefghijklmnop',
      'error=a%22b&state=state-1-abcdefghijklmnop',
    ]) {
      const bad = await fetch(`${api.url}/api/v1/oauth/callback?${query}`, { redirect: 'manual' });
      expect(bad.status, query).toBe(400);
      expect(bad.headers.get('location')).toBeNull();
      expect(await bad.text()).toContain('data-code="invalid_request"');
    }
    expect(fake.calls).toEqual([]);
  });

  it('without a completion page, answers an error page that says the deployment must configure one', async () => {
    const fake = fakeAuthorizations();
    const warnings: StewardError[] = [];
    const api = await server([], {
      api: { authorizations: fake.authorizations, onWarning: (warning) => warnings.push(warning) },
    });
    const { state } = await fake.authorizations.beginAuthorization({ server: 'mail', userId: 'ann' });
    const response = await fetch(`${api.url}/api/v1/oauth/callback?code=c&state=${state}`, {
      redirect: 'manual',
    });
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(text).toContain('data-reason="completion_url_missing"');
    expect(text).toContain('oauth.completionUrl');
    expect(warnings.map((warning) => warning.details.option)).toEqual(['oauth.completionUrl']);
    expect(fake.calls).toEqual([]);
    expect(fake.pending.has(state)).toBe(true);
  });

  it('checks the completion URL when the API is created', async () => {
    const fake = fakeAuthorizations();
    for (const bad of ['ftp://app.example/x', 'not a url', 'https://app.example/x#frag']) {
      await expect(
        server([], { api: { authorizations: fake.authorizations, oauth: { completionUrl: bad } } }),
      ).rejects.toMatchObject({ code: 'invalid_options' });
    }
  });
});

describe('POST /api/v1/oauth/complete', () => {
  it('completes as the state’s user and resumes the run; another user is refused and the state stays usable', async () => {
    const fake = fakeAuthorizations();
    const api = await server(inboxSteps, {
      tools: [fake.provider],
      limits: { approvalPollMs: 10 },
      api: { authorizations: fake.authorizations, oauth: { completionUrl } },
    });
    const { run, socket, state } = await pausedRun(api, 'ann');

    // Mallory got Ann's state (she began it; Mallory's browser came back with it): refused, unredeemed.
    const mallory = createStewardClient({ url: api.url, token: await userToken('mallory') });
    const refused = await mallory
      .completeAuthorization({ state, code: 'mallorys-code' })
      .catch((error: unknown) => error);
    expect(refused).toMatchObject({
      status: 400,
      code: 'authorization_failed',
      details: { reason: 'wrong_user', server: 'mail' },
    });
    expect(`${(refused as Error).message} ${JSON.stringify(refused)}`).not.toContain('ann');
    expect(fake.calls).toEqual(['attempt:mallory']);
    expect(fake.pending.has(state)).toBe(true);
    expect((await api.assistant.getRun(run.id, { userId: 'ann' }))?.status).toBe('awaiting_approval');

    // Ann finishes it: connected, and her run's call goes on.
    const ann = createStewardClient({ url: api.url, token: await userToken('ann') });
    expect(await ann.completeAuthorization({ state, code: 'the-code' })).toEqual({
      server: 'mail',
      outcome: 'connected',
      run_id: run.id,
      call_id: 'c-inbox',
    });
    expect((await run.result).stopReason).toBe('stop');
    await socket.until((frame) => frame.type === 'final');
    expect(socket.frames.find((frame) => frame.type === 'authorization_resolved')).toMatchObject({
      outcome: 'connected',
    });
    expect(socket.frames.find((frame) => frame.type === 'tool_result')).toMatchObject({
      result: { messages: 201 },
    });
    socket.ws.close();
    expect(fake.calls).toEqual(['attempt:mallory', 'attempt:ann', 'complete:the-code']);

    // Single use: the second time is refused and changes nothing.
    const events = (await api.assistant.getRunEvents(run.id, { userId: 'ann' })).length;
    await expect(ann.completeAuthorization({ state, code: 'the-code' })).rejects.toMatchObject({
      status: 400,
      details: { reason: 'unknown_state' },
    });
    expect(await api.assistant.getRunEvents(run.id, { userId: 'ann' })).toHaveLength(events);
  });

  it('tells the run at once when the user declined at the authorization server', async () => {
    const fake = fakeAuthorizations();
    const api = await server(inboxSteps, {
      tools: [fake.provider],
      limits: { approvalPollMs: 10 },
      api: { authorizations: fake.authorizations, oauth: { completionUrl } },
    });
    const { run, socket, state } = await pausedRun(api, 'ann');
    const ann = createStewardClient({ url: api.url, token: await userToken('ann') });
    expect(await ann.completeAuthorization({ state, error: 'access_denied' })).toEqual({
      server: 'mail',
      outcome: 'declined',
      run_id: run.id,
      call_id: 'c-inbox',
    });
    expect((await run.result).stopReason).toBe('stop');
    await socket.until((frame) => frame.type === 'final');
    expect(socket.frames.find((frame) => frame.type === 'tool_result')).toMatchObject({
      error: { code: 'tool_authorization_declined' },
    });
    socket.ws.close();
  });

  it('refuses a missing token (401), a run token (403) and bad bodies (400) before the state is touched', async () => {
    const fake = fakeAuthorizations();
    const api = await server([], { api: { authorizations: fake.authorizations, oauth: { completionUrl } } });
    const { state } = await fake.authorizations.beginAuthorization({ server: 'mail', userId: 'ann' });
    const body = { state, code: 'c' };

    expect((await postComplete(api.url, body)).status).toBe(401);
    const runToken = await createJwtAuth({ secret }).issueRunToken({ userId: 'ann', runId: 'r-1' });
    const withRunToken = await postComplete(api.url, body, { authorization: `Bearer ${runToken}` });
    expect(withRunToken.status).toBe(403);
    expect(((await withRunToken.json()) as { error: { code: string } }).error.code).toBe('forbidden');

    const authorization = `Bearer ${await userToken('ann')}`;
    for (const bad of [
      {},
      { state },
      { code: 'c' },
      { state: '', code: 'c' },
      { state: 'has space', code: 'c' },
      { state, code: 'c', extra: true },
      { state, code: 12 },
      { state, code: 'c'.repeat(4_097) },
      { state, error: 'x', error_description: 'é' },
      '{not json',
    ]) {
      const response = await postComplete(api.url, bad, { authorization });
      expect(response.status, JSON.stringify(bad)).toBe(400);
    }
    expect(fake.calls).toEqual([]);
    expect(fake.pending.has(state)).toBe(true);
  });

  it('refuses, and forgets the tokens, when the authorizations object completed another user’s state', async () => {
    // An object that does not check the user: the API is the last line, and undoes what it stored.
    const fake = fakeAuthorizations({ checksUser: false });
    const warnings: StewardError[] = [];
    const api = await server([], {
      api: {
        authorizations: fake.authorizations,
        oauth: { completionUrl },
        onWarning: (warning) => warnings.push(warning),
      },
    });
    const { state } = await fake.authorizations.beginAuthorization({ server: 'mail', userId: 'mallory' });
    const victim = createStewardClient({ url: api.url, token: await userToken('ann') });
    await expect(victim.completeAuthorization({ state, code: 'anns-code' })).rejects.toMatchObject({
      status: 400,
      details: { reason: 'wrong_user' },
    });
    expect(fake.calls).toEqual(['attempt:ann', 'complete:anns-code', 'disconnect:mallory']);
    expect(fake.connected.has('mallory')).toBe(false);
    expect(warnings.map((warning) => warning.details.reason)).toEqual(['wrong_user']);
  });
});

describe('readAuthorizationCallback', () => {
  it('reads a completion page’s URL, or says it is not one', () => {
    expect(readAuthorizationCallback('https://app.example/cb?code=c&state=s&x=1')).toEqual({
      state: 's',
      code: 'c',
    });
    expect(readAuthorizationCallback('https://app.example/cb?state=s')).toBeUndefined();
    expect(readAuthorizationCallback('https://app.example/cb?code=c')).toBeUndefined();
  });
});
