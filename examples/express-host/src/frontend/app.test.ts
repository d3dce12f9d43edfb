import type { StewardEvent } from '@steward/core';
import { createStewardClient } from '@steward/transport-ws/client';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectGmail } from '../connect-gmail.ts';
import { type ExpressHost, startExpressHost } from '../host.ts';
import { signSessionId, TestBrowser, upgradeStatus } from './test-browser.ts';

const sessionSecret = 'a-test-session-secret-of-at-least-32-characters';
let host: ExpressHost;

beforeAll(async () => {
  host = await startExpressHost({
    devSignIn: true,
    oidc: false,
    chunkDelayMs: 0,
    sessionSecret,
    formWaitMs: 10_000,
  });
});
afterAll(() => host?.stop());

async function signedIn(username: string): Promise<TestBrowser> {
  const browser = new TestBrowser(host.url);
  const response = await browser.login(username);
  expect(response.status).toBe(303);
  // Gmail is per user (OAuth): connected ahead, as the connecting flow is not these tests' subject.
  await connectGmail(host.registry, username, 'alice');
  return browser;
}

/** `POST /chat/send` as the page's script sends it: the run id and a token for that run. */
async function sendForRun(browser: TestBrowser, message: string) {
  const response = await browser.post(
    '/chat/send',
    { _csrf: await browser.csrf(), message },
    { accept: 'application/json' },
  );
  expect(response.status).toBe(202);
  return (await response.json()) as { run_id: string; session_id: string; token: string };
}

async function drain(token: string, runId: string, onEvent: (event: StewardEvent) => void = () => {}) {
  const stream = createStewardClient({ url: host.url, token }).stream(runId);
  const events: StewardEvent[] = [];
  for await (const event of stream) {
    events.push(event);
    onEvent(event);
  }
  return events;
}

describe('login', () => {
  it('sets an httpOnly, SameSite=Lax cookie holding only a signed session id, and goes to the chat', async () => {
    const browser = new TestBrowser(host.url);
    const response = await browser.login('ann');
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/chat');
    const cookie = response.headers.getSetCookie().find((line) => line.startsWith('steward_session='));
    expect(cookie).toBeDefined();
    expect(cookie).toMatch(/^steward_session=s%3A[\w-]+\./); // express-session's signed id
    expect(cookie).not.toContain('ann');
    expect(cookie).toMatch(/;\s*HttpOnly/i);
    expect(cookie).toMatch(/;\s*SameSite=Lax/i);
    expect(cookie).toMatch(/;\s*Path=\//i);
    expect(await browser.page('/chat')).toContain('<span class="who" title="">ann</span>');
  });

  it('refuses a login form without its CSRF token, and names with markup', async () => {
    const browser = new TestBrowser(host.url);
    await browser.page('/login');
    expect((await browser.post('/login', { username: 'ann' })).status).toBe(403);
    const bad = await browser.post('/login', { _csrf: await browser.csrf('/login'), username: '<b>x</b>' });
    expect(bad.status).toBe(400);
    expect(browser.cookies.has('steward_session')).toBe(false);
  });

  it('sends a signed-out visitor, or a tampered cookie, to the login page', async () => {
    const browser = new TestBrowser(host.url);
    expect((await browser.request('/chat')).headers.get('location')).toBe('/login');
    const ann = await signedIn('ann');
    // Another id under ann's signature.
    const forged = (ann.cookies.get('steward_session') ?? '').replace(/^s%3A/, 's%3Ax');
    ann.cookies.set('steward_session', forged);
    const response = await ann.request('/chat');
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/login');
  });
});

describe('the chat page', () => {
  it('escapes HTML in messages', async () => {
    const browser = await signedIn('mallory');
    const payload = '<script>alert("x")</script><img src=x onerror=alert(1)>';
    const response = await browser.post('/chat/send', { _csrf: await browser.csrf(), message: payload });
    expect(response.status).toBe(303);
    const page = await browser.page('/chat');
    expect(page).toContain(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;',
    );
    expect(page).not.toContain('<img');
    // The only script is the page's own.
    expect(page.match(/<script/g)).toEqual(['<script']);
    expect(page).toContain('<script src="/static/chat.js" type="module"></script>');
  });

  it('never renders another user’s session, nor a validly signed id the server never issued', async () => {
    const alice = await signedIn('alice');
    await alice.post('/chat/send', { _csrf: await alice.csrf(), message: 'alice-private-marker' });
    expect(await alice.page('/chat')).toContain('alice-private-marker');

    const bob = await signedIn('bob');
    expect(await bob.page('/chat')).not.toContain('alice-private-marker');

    // Who is signed in lives on the server: even a cookie signed with the real secret opens
    // nothing unless the server issued that id.
    const intruder = new TestBrowser(host.url);
    intruder.cookies.set('steward_session', signSessionId('made-up-session-id', sessionSecret));
    const response = await intruder.request('/chat');
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/login');
  });
});

describe('POST /chat/send', () => {
  it('refuses a missing, wrong or other session’s CSRF token with 403 and starts no run', async () => {
    const browser = await signedIn('carol');
    const other = await signedIn('dave');
    const requestsBefore = host.model.requests.length;
    const tokens = [
      undefined,
      'not-a-token',
      await browser.csrf().then((token) => `${token}0`),
      await other.csrf(),
    ];
    for (const token of tokens) {
      const fields: Record<string, string> = { message: 'What is in my inbox?' };
      if (token !== undefined) fields._csrf = token;
      const form = await browser.post('/chat/send', fields);
      expect(form.status).toBe(403);
      const json = await browser.post('/chat/send', fields, { accept: 'application/json' });
      expect(json.status).toBe(403);
      expect(await json.json()).toMatchObject({ error: { code: 'invalid_csrf_token' } });
    }
    expect(host.model.requests.length).toBe(requestsBefore);
    expect(await browser.page('/chat')).not.toContain('What is in my inbox?');
  });

  it('answers the script with the run id and a token that opens that run only', async () => {
    const erin = await signedIn('erin');
    const first = await sendForRun(erin, 'hello there');
    expect(first.session_id).toMatch(/^[0-9a-f-]{36}$/);
    const claims = decodeJwt(first.token);
    expect(claims).toMatchObject({ sub: 'erin', aud: 'steward:run', run_id: first.run_id });
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBeLessThanOrEqual(300);

    const events = await drain(first.token, first.run_id);
    expect(events.at(-1)).toMatchObject({ type: 'final', stop_reason: 'stop' });
    expect(events.filter((event) => event.type === 'token').length).toBeGreaterThan(3);

    const second = await sendForRun(erin, 'and again');
    // One sign-in, one Steward session.
    expect(second.session_id).toBe(first.session_id);
    const frank = await signedIn('frank');
    const others = await sendForRun(frank, 'hello from frank');
    const ws = (runId: string, token: string) =>
      `${host.url}/ws?${new URLSearchParams({ run_id: runId, token })}`;
    expect(await upgradeStatus(ws(first.run_id, first.token))).toBe(101);
    expect(await upgradeStatus(ws(second.run_id, first.token))).toBe(404);
    expect(await upgradeStatus(ws(others.run_id, first.token))).toBe(404);
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`${host.url}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${first.token}`, 'content-type': 'application/json' },
      });
    expect((await api(`/api/v1/runs/${second.run_id}`)).status).toBe(404);
    expect((await api(`/api/v1/runs/${first.run_id}`)).status).toBe(200);
    expect((await api('/api/v1/respond', { method: 'POST', body: '{"input":"hi"}' })).status).toBe(403);
    await drain(second.token, second.run_id);
    await drain(others.token, others.run_id);
  });

  it('renews a run token for the session’s own runs only', async () => {
    const grace = await signedIn('grace');
    const run = await sendForRun(grace, 'hi');
    await drain(run.token, run.run_id);
    const csrf = await grace.csrf();
    const renew = (browser: TestBrowser, runId: string, token: string) =>
      browser.post(`/chat/runs/${runId}/token`, {}, { accept: 'application/json', 'x-csrf-token': token });
    const renewed = await renew(grace, run.run_id, csrf);
    expect(renewed.status).toBe(200);
    expect(decodeJwt(((await renewed.json()) as { token: string }).token)).toMatchObject({
      run_id: run.run_id,
    });
    const heidi = await signedIn('heidi');
    expect((await renew(heidi, run.run_id, await heidi.csrf())).status).toBe(404);
    expect((await renew(grace, run.run_id, 'wrong')).status).toBe(403);
  });
});

describe('sending email needs the user’s approval', () => {
  it('over the WebSocket, as the page’s script does: one email, only after Approve', async () => {
    const ivan = await signedIn('ivan');
    const run = await sendForRun(ivan, 'Send an email to ada@engine.example saying hello');
    const sentBefore = host.gmail.mailbox.sent.length;
    let sentAtApproval = -1;
    const client = createStewardClient({ url: host.url, token: run.token });
    const stream = client.stream(run.run_id);
    const types: string[] = [];
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'approval_required') {
        sentAtApproval = host.gmail.mailbox.sent.length;
        stream.send({ type: 'approve', call_id: event.call_id });
      }
    }
    expect(sentAtApproval).toBe(sentBefore);
    expect(host.gmail.mailbox.sent.length).toBe(sentBefore + 1);
    expect(host.gmail.mailbox.sent.at(-1)).toMatchObject({ to: 'ada@engine.example', body: 'Hello' });
    expect(types).toEqual(
      expect.arrayContaining([
        'tool_request',
        'approval_required',
        'approval_resolved',
        'tool_result',
        'final',
      ]),
    );
  });

  it('with the page’s forms and no script: the approval form, then the sent email after the redirect', async () => {
    const judy = await signedIn('judy');
    const csrf = await judy.csrf();
    const sentBefore = host.gmail.mailbox.sent.length;
    const send = await judy.post('/chat/send', {
      _csrf: csrf,
      message: 'Send an email to grace@navy.example saying lunch works',
    });
    expect(send.status).toBe(303);
    const paused = await judy.page('/chat');
    const callId = /name="call_id" value="([^"]+)"/.exec(paused)?.[1];
    expect(callId).toBeDefined();
    expect(paused).toContain('Waiting for your approval');
    expect(host.gmail.mailbox.sent.length).toBe(sentBefore);

    // Another user cannot decide it, even with a valid form of their own.
    const mallory = await signedIn('mallory2');
    const refused = await mallory.post('/chat/approvals', {
      _csrf: await mallory.csrf(),
      call_id: callId ?? '',
      decision: 'approve',
    });
    expect(refused.status).toBe(404);
    expect((await judy.post('/chat/approvals', { call_id: callId ?? '', decision: 'approve' })).status).toBe(
      403,
    );
    expect(host.gmail.mailbox.sent.length).toBe(sentBefore);

    const approve = await judy.post('/chat/approvals', {
      _csrf: csrf,
      call_id: callId ?? '',
      decision: 'approve',
    });
    expect(approve.status).toBe(303);
    const done = await judy.page('/chat');
    expect(done).toContain('Done: the email is sent');
    expect(done).not.toContain('name="call_id"');
    expect(host.gmail.mailbox.sent.length).toBe(sentBefore + 1);
  });
});

describe('static files and the API', () => {
  it('serves the page script and keeps the orchestrator API behind JWTs', async () => {
    const script = await fetch(`${host.url}/static/chat.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(`${host.url}/api/v1/history?session_id=x`)).status).toBe(401);
    const token = await host.userToken('kim');
    const respond = await fetch(`${host.url}/api/v1/respond`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ input: 'hello' }),
    });
    expect(respond.status).toBe(202);
    const { run_id } = (await respond.json()) as { run_id: string };
    const events = await drain(token, run_id);
    expect(events.at(-1)).toMatchObject({ type: 'final' });
  });
});
