import type { OAuthClientInformationFull } from '@modelcontextprotocol/sdk/shared/auth.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authorize,
  connect,
  type Gmail,
  mcpSession,
  pkce,
  redirectUri,
  register,
  rpcResult,
  startOAuthGmail,
  type TestClock,
  tokenRequest,
} from './test-helpers.ts';

let gmail: Gmail;
let clock: TestClock;
let client: OAuthClientInformationFull;
beforeAll(async () => {
  ({ gmail, clock } = await startOAuthGmail());
  client = await register(gmail);
});
afterAll(() => gmail.stop());

/** GET /authorize with the usual parameters, `changes` applied (null removes one). */
function openAuthorization(changes: Record<string, string | null>) {
  const params: Record<string, string | null> = {
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: redirectUri,
    code_challenge: pkce().challenge,
    code_challenge_method: 'S256',
    scope: 'gmail.readonly',
    state: 'st-1',
    resource: gmail.mcpUrl,
    ...changes,
  };
  const url = new URL(`${gmail.url}/authorize`);
  for (const [key, value] of Object.entries(params)) if (value !== null) url.searchParams.set(key, value);
  return fetch(url, { redirect: 'manual' });
}

/** The error a redirect carries back to the client, with its state. */
async function redirectedError(response: Response) {
  expect(response.status).toBe(302);
  const location = new URL(response.headers.get('location') ?? '');
  expect(`${location.origin}${location.pathname}`).toBe(redirectUri);
  // RFC 9207: the issuer is in error responses too.
  expect(location.searchParams.get('iss')).toBe(gmail.url);
  return { error: location.searchParams.get('error'), state: location.searchParams.get('state') };
}

const redeem = (code: string, verifier: string, extra: Record<string, string> = {}) =>
  tokenRequest(gmail, client, {
    grant_type: 'authorization_code',
    code,
    code_verifier: verifier,
    redirect_uri: redirectUri,
    resource: gmail.mcpUrl,
    ...extra,
  });

describe('the authorization code flow, driven with plain fetch', () => {
  it('redirects with a code, the state and the issuer, and the code buys a token bound to the MCP endpoint', async () => {
    const { verifier, challenge } = pkce();
    const location = await authorize(gmail, client, { challenge, state: 'xyz 123' });
    expect(`${location.origin}${location.pathname}`).toBe(redirectUri);
    expect(location.searchParams.get('state')).toBe('xyz 123');
    expect(location.searchParams.get('iss')).toBe(gmail.url);
    const response = await redeem(location.searchParams.get('code') ?? '', verifier);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const tokens = await response.json();
    expect(tokens).toEqual({
      access_token: expect.stringMatching(/^gmat_/),
      refresh_token: expect.stringMatching(/^gmrt_/),
      token_type: 'Bearer',
      expires_in: 600,
      scope: 'gmail.readonly',
    });
    const session = await mcpSession(gmail, tokens.access_token);
    const result = await rpcResult(
      await session.call('GMAIL_FETCH_EMAILS', { user_id: 'me', max_results: 1 }),
    );
    expect(result).toMatchObject({ result: { structuredContent: { resultSizeEstimate: 201 } } });
  });

  it('refuses a missing, plain or malformed PKCE challenge, back at the redirect URI with the state', async () => {
    for (const changes of [
      { code_challenge: null, code_challenge_method: null },
      { code_challenge_method: null },
      { code_challenge_method: 'plain' },
      { code_challenge: 'too-short' },
    ]) {
      expect(await redirectedError(await openAuthorization(changes))).toEqual({
        error: 'invalid_request',
        state: 'st-1',
      });
    }
  });

  it('refuses a wrong or missing code_verifier, and the right one still works', async () => {
    const { verifier, challenge } = pkce();
    const code = (await authorize(gmail, client, { challenge })).searchParams.get('code') ?? '';
    const wrong = await redeem(code, pkce().verifier);
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toMatchObject({ error: 'invalid_grant' });
    const missing = await tokenRequest(gmail, client, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
    });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ error: 'invalid_request' });
    expect((await redeem(code, verifier)).status).toBe(200);
  });

  it('takes a code once: a second redemption is refused and revokes what the first one bought', async () => {
    const { verifier, challenge } = pkce();
    const code = (await authorize(gmail, client, { challenge })).searchParams.get('code') ?? '';
    const first = await redeem(code, verifier);
    const { access_token: accessToken } = await first.json();
    const session = await mcpSession(gmail, accessToken);
    const again = await redeem(code, verifier);
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ error: 'invalid_grant' });
    expect((await session.call('GMAIL_FETCH_EMAILS', { user_id: 'me' })).status).toBe(401);
  });

  it('refuses a code after its 60 seconds', async () => {
    const { verifier, challenge } = pkce();
    const code = (await authorize(gmail, client, { challenge })).searchParams.get('code') ?? '';
    clock.advance(61_000);
    const late = await redeem(code, verifier);
    expect(late.status).toBe(400);
    expect(await late.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('checks the resource (RFC 8707) at both endpoints, and binds a token to this server when none was named', async () => {
    for (const resource of [
      'https://calendar.example/mcp',
      `${gmail.url}/other`,
      `${gmail.mcpUrl}#fragment`,
    ]) {
      expect(await redirectedError(await openAuthorization({ resource }))).toEqual({
        error: 'invalid_target',
        state: 'st-1',
      });
    }
    const { verifier, challenge } = pkce();
    const code = (await authorize(gmail, client, { challenge })).searchParams.get('code') ?? '';
    const elsewhere = await redeem(code, verifier, { resource: 'https://calendar.example/mcp' });
    expect(elsewhere.status).toBe(400);
    expect(await elsewhere.json()).toMatchObject({ error: 'invalid_target' });

    const unnamed = pkce();
    const location = await authorize(gmail, client, { challenge: unnamed.challenge, resource: null });
    const response = await tokenRequest(gmail, client, {
      grant_type: 'authorization_code',
      code: location.searchParams.get('code') ?? '',
      code_verifier: unnamed.verifier,
      redirect_uri: redirectUri,
    });
    const tokens = await response.json();
    const session = await mcpSession(gmail, tokens.access_token);
    expect((await session.call('GMAIL_FETCH_EMAILS', { user_id: 'me' })).status).toBe(200);
  });

  it('accepts the resource URI in another case or with a trailing slash, as the same resource', async () => {
    const resource = `${gmail.mcpUrl.replace('http://', 'HTTP://')}/`;
    expect((await openAuthorization({ resource })).status).toBe(200);
  });

  it('answers an unknown client or an unregistered redirect URI itself, never redirecting to it', async () => {
    const unknown = await openAuthorization({ client_id: 'nobody' });
    expect(unknown.status).toBe(400);
    expect(unknown.headers.get('location')).toBeNull();
    expect(await unknown.json()).toMatchObject({ error: 'invalid_client' });
    const elsewhere = await openAuthorization({ redirect_uri: 'https://attacker.example/callback' });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.headers.get('location')).toBeNull();
  });

  it('refuses scopes it does not know, and a redirect_uri at the token endpoint unlike the authorization request’s', async () => {
    expect(await redirectedError(await openAuthorization({ scope: 'gmail.readonly gmail.delete' }))).toEqual({
      error: 'invalid_scope',
      state: 'st-1',
    });
    const { verifier, challenge } = pkce();
    const code = (await authorize(gmail, client, { challenge })).searchParams.get('code') ?? '';
    const other = await redeem(code, verifier, { redirect_uri: 'http://127.0.0.1:9/other' });
    expect(await other.json()).toMatchObject({ error: 'invalid_grant' });
    const omitted = await tokenRequest(gmail, client, {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
    });
    expect(await omitted.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('grants every scope asked for, and a token without a refresh token to a client that did not register the grant', async () => {
    const noRefresh = await register(gmail, { grant_types: ['authorization_code'] });
    const { tokens } = await connect(gmail, { client: noRefresh, scope: 'gmail.readonly gmail.send' });
    expect(tokens.scope).toBe('gmail.readonly gmail.send');
    expect(tokens.refresh_token).toBeUndefined();
  });
});
