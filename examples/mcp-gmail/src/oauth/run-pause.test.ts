// A Steward run against the Gmail mock in its OAuth mode, end to end: the registry is the OAuth
// client, the run pauses on `authorization_required`, the user consents in the mock's page, the
// authorization server sends the browser to transport-ws's OAuth callback, which hands the query
// to the host's completion page (303); that page completes it with the signed-in user's token
// (`POST /api/v1/oauth/complete`), the run's waiting call resumes, and the run goes on with that
// user's own mailbox. A user who is not the state's cannot complete it.
import { createServer, type Server } from 'node:http';
import { Assistant, createEnvironmentKeyProvider, createTokenVault, type StewardEvent } from '@steward/core';
import { createScriptedModel } from '@steward/core/testing';
import { createMcpRegistry } from '@steward/mcp';
import { createJwtAuth, createStewardApi, toNodeHandler } from '@steward/transport-ws';
import { createStewardClient, readAuthorizationCallback } from '@steward/transport-ws/client';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { cookieOf, formFields, type Gmail, postForm, startOAuthGmail } from './test-helpers.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The user's part in the browser: the mock's consent page, signed in as `user`, Allow. */
async function consent(gmail: Gmail, authorizationUrl: string, user: 'alice' | 'bob') {
  expect(new URL(authorizationUrl).origin).toBe(gmail.url);
  const page = await fetch(authorizationUrl, { redirect: 'manual' });
  expect(page.status).toBe(200);
  const cookie = cookieOf(page);
  const signedIn = await postForm(
    `${gmail.url}/consent/sign-in`,
    { ...formFields(await page.text()), demo_user: user },
    { cookie },
  );
  const decided = await postForm(
    `${gmail.url}/consent`,
    { ...formFields(await signedIn.text()), decision: 'allow' },
    { cookie },
  );
  expect(decided.status).toBe(303);
  return decided.headers.get('location') ?? '';
}

const secret = 'a-test-secret-that-is-at-least-32-bytes';
// The host's page that finishes connecting (examples/next-host's /connections/callback); here the
// test plays the browser that lands on it.
const completionUrl = 'https://app.example/connections/callback';

/** The signed-in user's own client, as the completion page has it (a user token from the host). */
async function clientOf(url: string, userId: string) {
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(secret));
  return createStewardClient({ url, token });
}

/** The browser after consent: the API's callback answers 303 to the completion page, whose URL carries the query. */
async function followCallback(callback: string) {
  expect(callback).toContain('/api/v1/oauth/callback?');
  const response = await fetch(callback, { redirect: 'manual' });
  expect(response.status).toBe(303);
  const location = response.headers.get('location') ?? '';
  expect(location.startsWith(`${completionUrl}?`)).toBe(true);
  const query = readAuthorizationCallback(location);
  if (query === undefined) throw new Error(`not a completion: ${location}`);
  return query;
}

/** A Steward API over node:http whose OAuth callback is the registry's redirect URI. */
async function stewardWithGmail() {
  const { gmail } = await startOAuthGmail();
  cleanups.push(() => gmail.stop());
  // Listen first: the registry needs the callback's URL before the API exists.
  let handler: ReturnType<typeof toNodeHandler> | undefined;
  const http: Server = createServer((request, response) => handler?.(request, response));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => http.close(() => resolve())));
  const url = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
  const registry = createMcpRegistry({
    servers: [
      {
        name: 'gmail',
        transport: 'streamable-http',
        url: gmail.mcpUrl,
        readOnlyTools: ['GMAIL_FETCH_EMAILS'],
        auth: { type: 'oauth' },
      },
    ],
    oauth: {
      vault: createTokenVault({
        keys: createEnvironmentKeyProvider({ keys: `k1:${Buffer.alloc(32, 3).toString('base64')}` }),
      }),
      redirectUrl: `${url}/api/v1/oauth/callback`,
    },
  });
  await registry.ready();
  cleanups.push(() => registry.close());
  const model = createScriptedModel([
    { toolCalls: [{ name: 'gmail__connect', arguments: {}, callId: 'c-connect' }] },
    {
      toolCalls: [
        { name: 'gmail__GMAIL_FETCH_EMAILS', arguments: { user_id: 'me', max_results: 1 }, callId: 'c-fetch' },
      ],
    },
    { text: 'You have mail.' },
    // Bob's run: the catalog already shows Gmail's tools (listed once for alice), his call waits.
    {
      toolCalls: [
        { name: 'gmail__GMAIL_FETCH_EMAILS', arguments: { user_id: 'me', max_results: 1 }, callId: 'c-bob' },
      ],
    },
    { text: 'Bob has mail.' },
  ]);
  const assistant = new Assistant({ model, tools: [registry], limits: { approvalPollMs: 20 } });
  const api = createStewardApi({
    assistant,
    auth: createJwtAuth({ secret }),
    authorizations: registry,
    oauth: { completionUrl },
  });
  handler = toNodeHandler(api);
  return { gmail, url, assistant, model, registry };
}

describe('a run that needs the user to connect Gmail', () => {
  it('pauses, resumes from the OAuth callback, and reads the user’s own mailbox', async () => {
    const { gmail, url, assistant, model, registry } = await stewardWithGmail();
    const alice = await clientOf(url, 'alice');
    const run = await assistant.start({ input: "What's in my inbox?", userId: 'alice' });
    let required: Extract<StewardEvent, { type: 'authorization_required' }> | undefined;
    for await (const event of assistant.streamRun(run.id, { userId: 'alice' })) {
      if (event.type === 'authorization_required') {
        required = event;
        break;
      }
    }
    expect(required).toMatchObject({ call_id: 'c-connect', server: 'gmail', tool_slug: 'gmail__connect' });
    await expect
      .poll(async () => (await assistant.getRun(run.id, { userId: 'alice' }))?.status)
      .toBe('awaiting_approval');
    expect(
      await assistant.storage.getApproval('c-connect', { userId: 'alice', kind: 'authorization' }),
    ).toMatchObject({
      status: 'pending',
      server: 'gmail',
    });

    // The browser: consent at the mock, its redirect to Steward's callback, on to the completion
    // page, which completes as alice.
    const callback = await consent(gmail, required?.authorization_url ?? '', 'alice');
    const query = await followCallback(callback);
    expect(await alice.completeAuthorization(query)).toEqual({
      server: 'gmail',
      outcome: 'connected',
      run_id: run.id,
      call_id: 'c-connect',
    });

    const result = await run.result;
    expect(result.stopReason).toBe('stop');
    const events = await assistant.getRunEvents(run.id, { userId: 'alice' });
    expect(events.find((event) => event.type === 'authorization_resolved')).toMatchObject({
      outcome: 'connected',
    });
    const results = events.filter((event) => event.type === 'tool_result');
    expect(results.map((event) => [event.call_id, event.error?.code])).toEqual([
      ['c-connect', undefined],
      ['c-fetch', undefined],
    ]);
    expect(results[1]).toMatchObject({ result: { resultSizeEstimate: 201 } });
    // The model was offered the mailbox's tools once connected, and never saw the URL.
    expect(model.requests[1]?.tools?.map((tool) => tool.name)).toContain('gmail__GMAIL_FETCH_EMAILS');
    expect(JSON.stringify(model.requests)).not.toContain(required?.authorization_url ?? '-');
    expect(await registry.connections('alice')).toEqual([
      expect.objectContaining({ server: 'gmail', status: 'connected' }),
    ]);
    // The state was single use.
    await expect(alice.completeAuthorization(query)).rejects.toMatchObject({
      status: 400,
      details: { reason: 'unknown_state' },
    });

    // Bob connects separately, through his own run's call, and reads his own 37 emails.
    const bobRun = await assistant.start({ input: "What's in my inbox?", userId: 'bob' });
    let bobRequired: Extract<StewardEvent, { type: 'authorization_required' }> | undefined;
    for await (const event of assistant.streamRun(bobRun.id, { userId: 'bob' })) {
      if (event.type === 'authorization_required') {
        bobRequired = event;
        break;
      }
    }
    expect(bobRequired).toMatchObject({ call_id: 'c-bob', tool_slug: 'gmail__GMAIL_FETCH_EMAILS' });
    const bobQuery = await followCallback(await consent(gmail, bobRequired?.authorization_url ?? '', 'bob'));
    expect(await (await clientOf(url, 'bob')).completeAuthorization(bobQuery)).toMatchObject({
      outcome: 'connected',
      run_id: bobRun.id,
    });
    expect((await bobRun.result).stopReason).toBe('stop');
    const bobEvents = await assistant.getRunEvents(bobRun.id, { userId: 'bob' });
    expect(bobEvents.find((event) => event.type === 'tool_result')).toMatchObject({
      call_id: 'c-bob',
      result: { resultSizeEstimate: 37 },
    });
  });

  it('refuses to store a victim’s account under the user who began the authorization', async () => {
    const { gmail, url, registry } = await stewardWithGmail();
    // Bob begins connecting Gmail, bound to his own user, and gets alice to open the URL.
    const bob = await clientOf(url, 'bob');
    const started = await bob.connect('gmail');
    // Alice signs in at the authorization server as herself and allows; her browser comes back
    // through the callback to the completion page, which completes as alice.
    const query = await followCallback(await consent(gmail, started.authorization_url, 'alice'));
    expect(query.state).toBe(started.state);
    const alice = await clientOf(url, 'alice');
    await expect(alice.completeAuthorization(query)).rejects.toMatchObject({
      status: 400,
      code: 'authorization_failed',
      details: { reason: 'wrong_user', server: 'gmail' },
    });
    // Alice's mailbox is not bob's, and alice connected nothing by it.
    expect(await registry.connections('bob')).toEqual([
      expect.objectContaining({ server: 'gmail', status: 'not_connected' }),
    ]);
    expect(await registry.connections('alice')).toEqual([
      expect.objectContaining({ server: 'gmail', status: 'not_connected' }),
    ]);
  });
});
