// The registry under test, wired to the mock's OAuth mode, and the user's part in the browser.
import {
  createEnvironmentKeyProvider,
  createTokenVault,
  isStewardError,
  type StewardError,
  type ToolCallContext,
} from '@steward/core';
import { createMcpRegistry, type McpRegistry } from '@steward/mcp';
import { expect } from 'vitest';
import type { GmailServerOAuthOptions } from './options.ts';
import {
  cookieOf,
  createTestClock,
  formFields,
  type Gmail,
  postForm,
  startOAuthGmail,
  type TestClock,
} from './test-helpers.ts';

export const redirectUrl = 'http://127.0.0.1:9/callback';

export interface Sent {
  method: string;
  url: URL;
  authorization: string | undefined;
  body: string | undefined;
  status: number;
}

/** Stops what each test started; the test file runs it after each test. */
export const cleanups: (() => Promise<void>)[] = [];

export async function setup(
  oauth: GmailServerOAuthOptions = {},
  serverAuth: Record<string, unknown> = { type: 'oauth' },
  registryOauth: Record<string, unknown> = {},
) {
  const gmailClock = createTestClock();
  const { gmail } = await startOAuthGmail(oauth, gmailClock);
  const clock: TestClock = createTestClock();
  const sent: Sent[] = [];
  const fetch = async (input: string | URL, init?: RequestInit) => {
    const response = await globalThis.fetch(input, init);
    sent.push({
      method: init?.method ?? 'GET',
      url: new URL(input),
      authorization: new Headers(init?.headers).get('authorization') ?? undefined,
      body:
        typeof init?.body === 'string' || init?.body instanceof URLSearchParams
          ? String(init.body)
          : undefined,
      status: response.status,
    });
    return response;
  };
  const vault = createTokenVault({
    keys: createEnvironmentKeyProvider({ keys: `k1:${Buffer.alloc(32, 7).toString('base64')}` }),
  });
  const warnings: StewardError[] = [];
  const registry = createMcpRegistry({
    servers: [
      {
        name: 'gmail',
        transport: 'streamable-http',
        url: gmail.mcpUrl,
        readOnlyTools: ['GMAIL_FETCH_EMAILS'],
        auth: serverAuth as { type: 'oauth' },
      },
    ],
    fetch,
    onWarning: (warning) => warnings.push(warning),
    oauth: { vault, redirectUrl, ...registryOauth },
    _internal: { now: clock.now },
  });
  cleanups.push(async () => {
    await registry.close();
    await gmail.stop();
  });
  await registry.ready();
  return { gmail, gmailClock, clock, sent, registry, vault, warnings };
}

export const context = (userId: string, callId = 'call-1'): ToolCallContext => ({
  signal: new AbortController().signal,
  runId: `run-${userId}`,
  sessionId: 's',
  userId,
  callId,
  reportProgress: () => {},
});

/** The user's part in the browser: open the URL, sign in as a demo user, Allow or Deny. */
export async function consent(
  gmail: Gmail,
  authorizationUrl: string,
  user: 'alice' | 'bob',
  decision: 'allow' | 'deny' = 'allow',
) {
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
    { ...formFields(await signedIn.text()), decision },
    { cookie },
  );
  expect(decided.status).toBe(303);
  return new URL(decided.headers.get('location') ?? '');
}

export async function authorizationRequired(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(isStewardError(error, 'authorization_required'), String(error)).toBe(true);
  return (error as StewardError).details as {
    server: string;
    authorizationUrl: string;
    state: string;
    expiresAt: string;
    scopes: string[];
  };
}

/** Connects `user` through a call of `tool`, returning what the authorization asked for. */
export async function connectThroughCall(
  registry: McpRegistry,
  gmail: Gmail,
  user: 'alice' | 'bob',
  tool = 'gmail__connect',
) {
  const required = await authorizationRequired(registry.callTool(tool, {}, context(user)));
  const back = await consent(gmail, required.authorizationUrl, user);
  expect(back.searchParams.get('state')).toBe(required.state);
  const result = await registry.completeAuthorization({
    state: required.state,
    code: back.searchParams.get('code') ?? '',
    userId: user,
  });
  return { required, result };
}
