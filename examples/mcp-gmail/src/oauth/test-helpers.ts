// The OAuth mode driven with plain fetch, as a browser and a client would: for tests here and in
// the apps that use the mock (`@steward/example-mcp-gmail/testing`).
import { createHash, randomBytes } from 'node:crypto';
import type { OAuthClientInformationFull } from '@modelcontextprotocol/sdk/shared/auth.js';
import { expect } from 'vitest';
import { startGmailServer } from '../app.ts';
import type { GmailServerOAuthOptions } from './options.ts';

export type Gmail = Awaited<ReturnType<typeof startGmailServer>>;

/** A clock the tests move: tokens expire without waiting. */
export interface TestClock {
  now(): number;
  advance(ms: number): void;
}

export function createTestClock(): TestClock {
  let time = Date.now();
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
  };
}

/** Starts the mock in the OAuth mode, rate limits off (the tests make many requests from one address). */
export async function startOAuthGmail(oauth: GmailServerOAuthOptions = {}, clock = createTestClock()) {
  const gmail = await startGmailServer({ auth: { oauth: { rateLimit: false, ...oauth } }, _internal: clock });
  return { gmail, clock };
}

export const redirectUri = 'http://127.0.0.1:9/callback';

export function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** Dynamic registration (RFC 7591) with the given metadata. */
export async function register(gmail: Gmail, metadata: Record<string, unknown> = {}) {
  const response = await fetch(`${gmail.url}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'Test client',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      ...metadata,
    }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as OAuthClientInformationFull;
}

/** The hidden fields of a consent page's form. */
export function formFields(html: string): { request: string; csrf: string } {
  return {
    request: /name="request" value="([^"]+)"/.exec(html)?.[1] ?? '',
    csrf: /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '',
  };
}

/** What a browser keeps between the pages: the cookie the authorization server set. */
export function cookieOf(response: Response): string {
  return (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
}

export const postForm = (url: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form),
  });

export interface AuthorizeOptions {
  scope?: string;
  state?: string;
  resource?: string | null;
  challenge?: string;
  user?: 'alice' | 'bob';
  decision?: 'allow' | 'deny';
}

/**
 * The browser's part of the authorization code flow, as a person would click it: open the
 * authorization URL, sign in with a demo user, Allow (or Deny). Returns the redirect.
 */
export async function authorize(
  gmail: Gmail,
  client: OAuthClientInformationFull,
  options: AuthorizeOptions = {},
) {
  const url = new URL(`${gmail.url}/authorize`);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: redirectUri,
    code_challenge: options.challenge ?? pkce().challenge,
    code_challenge_method: 'S256',
    scope: options.scope ?? 'gmail.readonly',
    state: options.state ?? 'the-state',
    ...(options.resource === null ? {} : { resource: options.resource ?? gmail.mcpUrl }),
  }).toString();
  const page = await fetch(url, { redirect: 'manual' });
  expect(page.status).toBe(200);
  const cookie = cookieOf(page);
  const signedIn = await postForm(
    `${gmail.url}/consent/sign-in`,
    { ...formFields(await page.text()), demo_user: options.user ?? 'alice' },
    { cookie },
  );
  expect(signedIn.status).toBe(200);
  const decided = await postForm(
    `${gmail.url}/consent`,
    { ...formFields(await signedIn.text()), decision: options.decision ?? 'allow' },
    { cookie },
  );
  expect(decided.status).toBe(303);
  return new URL(decided.headers.get('location') ?? '');
}

/** A token endpoint request, authenticated the way the client registered. */
export function tokenRequest(gmail: Gmail, client: OAuthClientInformationFull, form: Record<string, string>) {
  const method = client.token_endpoint_auth_method ?? 'client_secret_basic';
  const basic =
    method === 'client_secret_basic'
      ? {
          authorization: `Basic ${Buffer.from(
            `${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret ?? '')}`,
          ).toString('base64')}`,
        }
      : {};
  return postForm(
    `${gmail.url}/token`,
    {
      ...form,
      ...(method === 'client_secret_basic' ? {} : { client_id: client.client_id }),
      ...(method === 'client_secret_post' ? { client_secret: client.client_secret ?? '' } : {}),
    },
    basic,
  );
}

export interface Tokens {
  access_token: string;
  refresh_token?: string;
  expires_in: number;
  scope: string;
  token_type: string;
}

/** Registers (unless given a client), authorizes and redeems the code: a connected client. */
export async function connect(
  gmail: Gmail,
  options: AuthorizeOptions & { client?: OAuthClientInformationFull } = {},
): Promise<{ client: OAuthClientInformationFull; tokens: Tokens }> {
  const client = options.client ?? (await register(gmail));
  const { verifier, challenge } = pkce();
  const location = await authorize(gmail, client, { ...options, challenge });
  const response = await tokenRequest(gmail, client, {
    grant_type: 'authorization_code',
    code: location.searchParams.get('code') ?? '',
    code_verifier: verifier,
    redirect_uri: redirectUri,
    resource: gmail.mcpUrl,
  });
  expect(response.status).toBe(200);
  return { client, tokens: (await response.json()) as Tokens };
}

const mcpHeaders = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** The JSON-RPC answer in a Streamable HTTP response (JSON or one SSE event). */
export async function rpcResult(response: Response): Promise<{ result?: unknown; error?: unknown }> {
  const text = await response.text();
  return JSON.parse(/^data: (.*)$/m.exec(text)?.[1] ?? text);
}

/** An MCP `initialize` with `token`: 200 and a session, or the server's refusal. */
export function initialize(gmail: Gmail, token: string, headers: Record<string, string> = {}) {
  return fetch(gmail.mcpUrl, {
    method: 'POST',
    headers: { ...mcpHeaders, authorization: `Bearer ${token}`, ...headers },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    }),
  });
}

/** An MCP session over plain fetch, with `token`. */
export async function mcpSession(gmail: Gmail, token: string) {
  const auth = { authorization: `Bearer ${token}` };
  const init = await initialize(gmail, token);
  expect(init.status).toBe(200);
  await init.text();
  const session = { ...mcpHeaders, 'mcp-session-id': init.headers.get('mcp-session-id') ?? '' };
  await fetch(gmail.mcpUrl, {
    method: 'POST',
    headers: { ...session, ...auth },
    body: '{"jsonrpc":"2.0","method":"notifications/initialized"}',
  }).then((response) => response.text());
  let id = 1;
  return {
    sessionId: session['mcp-session-id'],
    /** POSTs one tools/call with `withToken` (default: the session's token). */
    call: (name: string, args: Record<string, unknown>, withToken = token) =>
      fetch(gmail.mcpUrl, {
        method: 'POST',
        headers: { ...session, authorization: `Bearer ${withToken}` },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: ++id,
          method: 'tools/call',
          params: { name, arguments: args },
        }),
      }),
  };
}
