import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StewardEvent } from '@steward/core';
import { createStewardClient } from '@steward/transport-ws/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBrowser, upgradeStatus } from '../frontend/test-browser.ts';
import { type RemoteExpressHost, startRemoteExpressHost } from '../remote-host.ts';
import { type RemoteOrchestrator, startRemoteOrchestrator } from './orchestrator-process.ts';

// Pattern A for real: examples/orchestrator in a child process (PostgreSQL, Redis, the demo's
// scripted model, the Gmail mock behind service JWTs), and the host's pages in front of it.
let orchestrator: RemoteOrchestrator;
let host: RemoteExpressHost;

beforeAll(async () => {
  // Slow enough that a stop sent after the first token lands while the answer still streams.
  orchestrator = await startRemoteOrchestrator({ chunkDelayMs: 30 });
  host = await startRemoteExpressHost({
    orchestrator: { url: orchestrator.url, secret: orchestrator.secret },
    devSignIn: true,
    oidc: false,
    formWaitMs: 10_000,
  });
}, 60_000);
afterAll(async () => {
  await host?.stop();
  await orchestrator?.stop();
});

async function signedIn(username: string, base = host.url): Promise<TestBrowser> {
  const browser = new TestBrowser(base);
  expect((await browser.login(username)).status).toBe(303);
  return browser;
}

/** `POST /chat/send` as the page's script sends it. */
async function send(browser: TestBrowser, message: string) {
  const response = await browser.post(
    '/chat/send',
    { _csrf: await browser.csrf(), message },
    { accept: 'application/json' },
  );
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function sendForRun(browser: TestBrowser, message: string) {
  const { status, body } = await send(browser, message);
  expect(status, JSON.stringify(body)).toBe(202);
  return body as { run_id: string; session_id: string; token: string };
}

/** The run's events through the host's relay (`/ws`), as the page streams them. */
function relayed(token: string, runId: string, afterSeq = 0) {
  const events: StewardEvent[] = [];
  const stream = createStewardClient({ url: host.url, token }).stream(runId, { afterSeq });
  // One iterator for the whole stream: a `for await` that breaks would close it.
  const iterator = stream[Symbol.asyncIterator]();
  const next = async (until: (event: StewardEvent) => boolean) => {
    for (;;) {
      const { value, done } = await iterator.next();
      if (done === true) return undefined;
      events.push(value);
      if (until(value)) return value;
    }
  };
  return { events, stream, next, drain: () => next(() => false).then(() => events) };
}

/** Every frame the relay sends on one socket opened like the page's, until it closes. */
function rawFrames(token: string, runId: string, lastSeq: number): Promise<StewardEvent[]> {
  const query = new URLSearchParams({ run_id: runId, last_seq: String(lastSeq), token });
  const socket = new WebSocket(`${host.url.replace(/^http/, 'ws')}/ws?${query}`);
  const frames: StewardEvent[] = [];
  socket.addEventListener('message', (message) => frames.push(JSON.parse(String(message.data))));
  return new Promise((resolve, reject) => {
    socket.addEventListener('close', () => resolve(frames));
    socket.addEventListener('error', () => reject(new Error('the relay refused the socket')));
  });
}

const post = async (browser: TestBrowser, path: string, fields: Record<string, string>) => {
  const response = await browser.post(
    path,
    { _csrf: await browser.csrf(), ...fields },
    { accept: 'application/json' },
  );
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

describe('the pages in front of a remote orchestrator', () => {
  it('streams a run through the relay, every event once in seq order, and resumes after last_seq', async () => {
    const ann = await signedIn('ann');
    const { run_id, token } = await sendForRun(ann, "What's in my inbox?");
    const events = await relayed(token, run_id).drain();
    expect(events.map((event) => event.seq)).toEqual(events.map((_event, index) => index + 1));
    expect(events.at(-1)).toMatchObject({ type: 'final', stop_reason: 'stop' });
    expect(events.find((event) => event.type === 'tool_result')).toMatchObject({
      tool_slug: 'gmail__GMAIL_FETCH_EMAILS',
    });
    // A reconnect with last_seq gets exactly the rest, as the page's script relies on: read
    // raw, as chat.js reads it (the client would drop repeats itself).
    const rest = await rawFrames(token, run_id, 3);
    expect(rest.map((event) => event.seq)).toEqual(events.slice(3).map((event) => event.seq));

    // The page renders the conversation from the orchestrator's history.
    const page = await ann.page('/chat');
    expect(page).toContain('Here are your 5 newest emails');
    expect(page).not.toContain(orchestrator.url);
  });

  it('approves one email and denies another through the orchestrator: the Gmail mock sends exactly one', async () => {
    const ann = await signedIn('ann-mail');
    const sentBefore = orchestrator.gmail.mailbox.sent.length;
    const first = await sendForRun(ann, 'Send an email to ada@engine.example saying the report is ready');
    const stream = relayed(first.token, first.run_id);
    const waiting = await stream.next((event) => event.type === 'approval_required');
    const callId = (waiting as Extract<StewardEvent, { type: 'approval_required' }>).call_id;
    // Reloaded now, the page shows the waiting call with its Approve form (once the run's record
    // says it waits, just after the event).
    await expect.poll(() => ann.page('/chat')).toContain(`value="${callId}"`);
    expect(orchestrator.gmail.mailbox.sent.length).toBe(sentBefore);
    expect(await post(ann, '/chat/approvals', { call_id: callId, decision: 'approve' })).toMatchObject({
      status: 200,
      body: { call_id: callId, decision: 'approve' },
    });
    await stream.drain();
    expect(stream.events.at(-1)).toMatchObject({ type: 'final', stop_reason: 'stop' });
    expect(orchestrator.gmail.mailbox.sent.length).toBe(sentBefore + 1);
    // Deciding it again: the in-process mode's words.
    expect(await post(ann, '/chat/approvals', { call_id: callId, decision: 'deny' })).toMatchObject({
      status: 409,
      body: { error: { code: 'approval_conflict' } },
    });

    const second = await sendForRun(ann, 'Send an email to bob@example.com saying never mind');
    const denied = relayed(second.token, second.run_id);
    const pause = await denied.next((event) => event.type === 'approval_required');
    const secondCall = (pause as Extract<StewardEvent, { type: 'approval_required' }>).call_id;
    expect((await post(ann, '/chat/approvals', { call_id: secondCall, decision: 'deny' })).status).toBe(200);
    await denied.drain();
    expect(denied.events.find((event) => event.type === 'tool_result')).toMatchObject({
      error: { code: 'tool_denied' },
    });
    expect(orchestrator.gmail.mailbox.sent.length).toBe(sentBefore + 1);

    // Another user cannot see or decide ann's calls.
    const bob = await signedIn('bob');
    expect((await post(bob, '/chat/approvals', { call_id: secondCall, decision: 'approve' })).status).toBe(
      404,
    );
    const renewal = await bob.request(`/chat/runs/${second.run_id}/token`, {
      method: 'POST',
      headers: { accept: 'application/json', 'x-csrf-token': await bob.csrf() },
    });
    expect(renewal.status).toBe(404);
  });

  it('stops a run on the orchestrator, with the partial answer kept, and refuses a second message while one runs', async () => {
    const ann = await signedIn('ann-stop');
    const { run_id, token } = await sendForRun(ann, 'Tell me a story about the sea');
    const stream = relayed(token, run_id);
    await stream.next((event) => event.type === 'token');
    // While it runs, a second message gets the in-process mode's answer.
    expect(await send(ann, 'And another')).toMatchObject({
      status: 409,
      body: { error: { code: 'session_busy', message: expect.stringContaining('still answering') } },
    });
    expect(await post(ann, `/chat/runs/${run_id}/stop`, {})).toMatchObject({ status: 202 });
    const final = await stream.next((event) => event.type === 'final');
    expect(final).toMatchObject({ stop_reason: 'aborted', partial: true });
    expect(await ann.page('/chat')).toContain('Stopped.');
  });

  it('passes the page’s frames up the relay: a stop frame stops the run on the orchestrator', async () => {
    const ann = await signedIn('ann-frames');
    const { run_id, token } = await sendForRun(ann, 'Tell me a story about the sea');
    const query = new URLSearchParams({ run_id, last_seq: '0', token });
    const socket = new WebSocket(`${host.url.replace(/^http/, 'ws')}/ws?${query}`);
    const frames: StewardEvent[] = [];
    const closed = new Promise<void>((resolve) => socket.addEventListener('close', () => resolve()));
    socket.addEventListener('message', (message) => {
      const frame = JSON.parse(String(message.data)) as StewardEvent;
      if (frame.type === 'token' && !frames.some((seen) => seen.type === 'token'))
        socket.send(JSON.stringify({ type: 'stop' }));
      frames.push(frame);
    });
    await closed;
    expect(frames.at(-1)).toMatchObject({ type: 'final', stop_reason: 'aborted', partial: true });
  });

  it('renders every page with the orchestrator behind it', async () => {
    const ann = await signedIn('ann-pages');
    for (const path of ['/chat', '/conversations', '/tools', '/settings'])
      expect((await ann.request(path)).status, path).toBe(200);
  });

  it('keeps the service token server-side: the page’s run token opens nothing on the orchestrator', async () => {
    const ann = await signedIn('ann-token');
    const { run_id, token } = await sendForRun(ann, 'Hello');
    await relayed(token, run_id).drain();
    const direct = await fetch(`${orchestrator.url}/api/v1/runs/${run_id}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(direct.status).toBe(401);
    // A renewed token, as the page asks for one to reconnect, is the host's too.
    const renewal = await ann.request(`/chat/runs/${run_id}/token`, {
      method: 'POST',
      headers: { accept: 'application/json', 'x-csrf-token': await ann.csrf() },
    });
    const renewed = ((await renewal.json()) as { token: string }).token;
    expect(
      (
        await fetch(`${orchestrator.url}/api/v1/runs/${run_id}`, {
          headers: { authorization: `Bearer ${renewed}` },
        })
      ).status,
    ).toBe(401);
    expect(JSON.stringify(await ann.page('/chat'))).not.toContain(orchestrator.secret);
    // …and the relay takes only the host's run token for its own run.
    expect(await upgradeStatus(`${host.url}/ws?run_id=${run_id}&token=forged`)).toBe(401);
  });
});

describe('an orchestrator that cannot be reached', () => {
  let down: RemoteExpressHost;
  beforeAll(async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    down = await startRemoteExpressHost({
      orchestrator: { url: `http://127.0.0.1:${port}`, secret: orchestrator.secret },
      devSignIn: true,
      oidc: false,
    });
  });
  afterAll(() => down?.stop());

  it('answers 503 with words the page shows, for a message and for the chat page', async () => {
    const ann = await signedIn('ann', down.url);
    const chat = await ann.request('/chat');
    expect(chat.status).toBe(503);
    expect(await chat.text()).toContain('The assistant service is unavailable right now');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await (await ann.request('/settings')).text())?.[1];
    const response = await ann.post(
      '/chat/send',
      { _csrf: csrf ?? '', message: 'Hello?' },
      { accept: 'application/json' },
    );
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      error: {
        code: 'orchestrator_unavailable',
        message: 'The assistant service is unavailable right now; try again shortly.',
      },
    });
  });
});
