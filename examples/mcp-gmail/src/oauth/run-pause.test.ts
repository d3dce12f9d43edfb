// A Steward run against the Gmail mock in its OAuth mode, end to end: the registry is the OAuth
// client, the run pauses on `authorization_required`, the user consents in the mock's page, the
// authorization server sends the browser back with a code, the host completes the authorization
// as the signed-in user and resumes the run's waiting call, and the run goes on with that user's
// own mailbox. transport-ws's GET callback cannot tell who the browser is (no bearer), so it must
// not redeem: it is refused and the state stays usable for its owner.
import { createServer, type Server } from 'node:http';
import { Assistant, createEnvironmentKeyProvider, createTokenVault, type StewardEvent } from '@steward/core';
import { createScriptedModel } from '@steward/core/testing';
import { createMcpRegistry } from '@steward/mcp';
import { createJwtAuth, createStewardApi, toNodeHandler } from '@steward/transport-ws';
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
    { toolCalls: [{ name: 'gmail__connect', args: {}, callId: 'c-connect' }] },
    {
      toolCalls: [
        { name: 'gmail__GMAIL_FETCH_EMAILS', args: { user_id: 'me', max_results: 1 }, callId: 'c-fetch' },
      ],
    },
    { text: 'You have mail.' },
    // Bob's run: the catalog already shows Gmail's tools (listed once for alice), his call waits.
    {
      toolCalls: [
        { name: 'gmail__GMAIL_FETCH_EMAILS', args: { user_id: 'me', max_results: 1 }, callId: 'c-bob' },
      ],
    },
    { text: 'Bob has mail.' },
  ]);
  const assistant = new Assistant({ model, tools: [registry], limits: { approvalPollMs: 20 } });
  const api = createStewardApi({
    assistant,
    auth: createJwtAuth({ secret: 'a-test-secret-that-is-at-least-32-bytes' }),
    authorizations: registry,
  });
  handler = toNodeHandler(api);
  return { gmail, url, assistant, model, registry };
}

/**
 * What a host's callback does for its signed-in `user`: completes the authorization as them
 * (the registry refuses anyone else), then resumes the call that waited for it.
 */
async function completeAs(
  steward: Awaited<ReturnType<typeof stewardWithGmail>>,
  callback: string,
  user: 'alice' | 'bob',
) {
  const query = new URL(callback).searchParams;
  const completed = await steward.registry.completeAuthorization({
    state: query.get('state') ?? '',
    code: query.get('code') ?? '',
    userId: user,
  });
  if (completed.runId !== undefined && completed.callId !== undefined)
    await steward.assistant.completeAuthorization({
      runId: completed.runId,
      callId: completed.callId,
      userId: user,
      outcome: 'connected',
    });
  return completed;
}

describe('a run that needs the user to connect Gmail', () => {
  it('pauses, resumes from the OAuth callback, and reads the user’s own mailbox', async () => {
    const steward = await stewardWithGmail();
    const { gmail, assistant, model, registry } = steward;
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

    // The browser: consent at the mock, then its redirect to Steward's callback, which knows no
    // user and so cannot complete it (the state stays usable); the host completes it as alice.
    const callback = await consent(gmail, required?.authorization_url ?? '', 'alice');
    expect(callback).toContain('/api/v1/oauth/callback?');
    const page = await fetch(callback);
    expect(page.status).toBe(400);
    expect(await page.text()).toContain('wrong_user');
    expect(await completeAs(steward, callback, 'alice')).toMatchObject({
      userId: 'alice',
      callId: 'c-connect',
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
    // The callback's state was single use.
    await expect(completeAs(steward, callback, 'alice')).rejects.toMatchObject({
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
    await completeAs(steward, await consent(gmail, bobRequired?.authorization_url ?? '', 'bob'), 'bob');
    expect((await bobRun.result).stopReason).toBe('stop');
    const bobEvents = await assistant.getRunEvents(bobRun.id, { userId: 'bob' });
    expect(bobEvents.find((event) => event.type === 'tool_result')).toMatchObject({
      call_id: 'c-bob',
      result: { resultSizeEstimate: 37 },
    });
  });
});
