import { StewardError } from '@steward/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ExpressHost, startExpressHost } from '../host.ts';
import type { HostConnections } from './connection-routes.ts';
import { TestBrowser } from './test-browser.ts';

// The pages' side of connecting an OAuth MCP server, over a recording fake of the registry and
// the run: what the callback redeems, for whom, and which run it resumes.
const calls: { method: string; args: unknown[] }[] = [];
/** Who started each state (the registry binds it to that user). */
const owners = new Map<string, string>();
let connected = new Set<string>();
let counter = 0;

const connections: HostConnections = {
  async list(userId) {
    return [{ server: 'gmail', status: connected.has(userId) ? 'connected' : 'not_connected' }];
  },
  async begin(userId, server) {
    calls.push({ method: 'begin', args: [userId, server] });
    counter += 1;
    const state = `state-${counter}`;
    owners.set(state, userId);
    return { state, authorizationUrl: `https://as.example/authorize?client_id=c&state=${state}` };
  },
  async complete(callback) {
    calls.push({ method: 'complete', args: [callback] });
    const userId = owners.get(callback.state);
    if (userId === undefined)
      throw new StewardError('authorization_failed', 'unknown state', {
        details: { reason: 'unknown_state' },
      });
    // As the registry: another user is refused, and the state stays for its owner.
    if (userId !== callback.userId)
      throw new StewardError('authorization_failed', 'wrong user', { details: { reason: 'wrong_user' } });
    owners.delete(callback.state);
    if (callback.error !== undefined)
      throw new StewardError('authorization_failed', 'denied', { details: { reason: 'denied' } });
    connected.add(userId);
    return {
      server: 'gmail',
      userId,
      ...(callback.state === 'state-run' ? { runId: 'run-1', callId: 'call-1' } : {}),
    };
  },
  async disconnect(userId, server) {
    calls.push({ method: 'disconnect', args: [userId, server] });
    return connected.delete(userId);
  },
  async waiting(userId, callId) {
    if (userId !== 'alice' || callId !== 'call-1') return undefined;
    owners.set('state-run', 'alice');
    return {
      runId: 'run-1',
      sessionId: '00000000-0000-4000-8000-000000000001',
      server: 'gmail',
      authorizationUrl: 'https://as.example/authorize?client_id=c&state=state-run',
    };
  },
  async resume(userId, runId, callId, outcome) {
    calls.push({ method: 'resume', args: [userId, runId, callId, outcome] });
  },
};

let host: ExpressHost;
beforeAll(async () => {
  host = await startExpressHost({
    devSignIn: true,
    oidc: false,
    chunkDelayMs: 0,
    demoCalendar: false,
    demoDesk: false,
    connections,
  });
});
afterAll(() => host?.stop());
beforeEach(() => {
  calls.length = 0;
  connected = new Set();
});

async function signedIn(username: string) {
  const browser = new TestBrowser(host.url);
  expect((await browser.login(username)).status).toBe(303);
  return browser;
}
const callsOf = (method: string) => calls.filter((call) => call.method === method).map((call) => call.args);

describe('connecting an OAuth MCP server from the pages', () => {
  it('connects from the Tools page: Connect goes to the authorization server, the callback redeems and says so', async () => {
    const alice = await signedIn('alice');
    const tools = await alice.page('/tools');
    expect(tools).toContain('Your account: <strong>Not connected</strong>');
    const start = await alice.post('/connections/gmail', { _csrf: await alice.csrf('/tools') });
    expect(start.status).toBe(303);
    const location = new URL(start.headers.get('location') ?? '');
    expect(location.origin).toBe('https://as.example');
    const state = location.searchParams.get('state') ?? '';
    const back = await alice.request(`/connections/callback?code=the-code&state=${state}`);
    expect(back.status).toBe(303);
    expect(back.headers.get('location')).toBe('/tools?connected=gmail');
    expect(callsOf('complete')).toEqual([[{ state, code: 'the-code', userId: 'alice' }]]);
    const after = await alice.page('/tools?connected=gmail');
    expect(after).toContain('Connected Gmail.');
    expect(after).toContain('Disconnect Gmail');
    // The state worked once: the same callback again redeems nothing.
    expect((await alice.request(`/connections/callback?code=the-code&state=${state}`)).status).toBe(400);
    expect(callsOf('complete')).toHaveLength(1);
  });

  it('redeems nothing for a browser that did not start the authorization (someone else’s link)', async () => {
    const alice = await signedIn('alice');
    const start = await alice.post('/connections/gmail', { _csrf: await alice.csrf('/tools') });
    const state = new URL(start.headers.get('location') ?? '').searchParams.get('state') ?? '';
    // Bob is sent alice's link; after he authorizes, his browser comes back with her state.
    const bob = await signedIn('bob');
    const refused = await bob.request(`/connections/callback?code=bobs-code&state=${state}`);
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('not started from this browser');
    expect(callsOf('complete')).toEqual([]);
    // Alice's own authorization is untouched.
    expect((await alice.request(`/connections/callback?code=her-code&state=${state}`)).status).toBe(303);
    expect(connected).toEqual(new Set(['alice']));
  });

  it('connects for a run that waits: the call resumes, and the callback returns to the conversation', async () => {
    const alice = await signedIn('alice');
    const start = await alice.request('/connections/authorize?call_id=call-1');
    expect(start.status).toBe(303);
    expect(start.headers.get('location')).toBe('https://as.example/authorize?client_id=c&state=state-run');
    const back = await alice.request('/connections/callback?code=c&state=state-run');
    expect(back.headers.get('location')).toBe('/chat/00000000-0000-4000-8000-000000000001');
    expect(callsOf('resume')).toEqual([['alice', 'run-1', 'call-1', 'connected']]);
    // Bob cannot start alice's call's authorization.
    const bob = await signedIn('bob');
    expect((await bob.request('/connections/authorize?call_id=call-1')).status).toBe(409);
  });

  it('tells the run no when the user refuses at the authorization server, or says "Not now"', async () => {
    const alice = await signedIn('alice');
    await alice.request('/connections/authorize?call_id=call-1');
    const back = await alice.request('/connections/callback?error=access_denied&state=state-run');
    expect(back.status).toBe(303);
    expect(callsOf('resume')).toEqual([['alice', 'run-1', 'call-1', 'declined']]);
    calls.length = 0;
    const notNow = await alice.post(
      '/chat/authorizations/decline',
      { _csrf: await alice.csrf(), call_id: 'call-1' },
      { accept: 'application/json' },
    );
    expect(notNow.status).toBe(200);
    expect(callsOf('resume')).toEqual([['alice', 'run-1', 'call-1', 'declined']]);
  });

  it('disconnects from the Tools page', async () => {
    const alice = await signedIn('alice');
    connected.add('alice');
    const answer = await alice.post('/connections/gmail/disconnect', { _csrf: await alice.csrf('/tools') });
    expect(answer.headers.get('location')).toBe('/tools?disconnected=gmail');
    expect(callsOf('disconnect')).toEqual([['alice', 'gmail']]);
    expect(await alice.page('/tools?disconnected=gmail')).toContain('Disconnected Gmail.');
  });
});
