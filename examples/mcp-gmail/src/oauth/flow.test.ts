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
beforeAll(async () => {
  ({ gmail, clock } = await startOAuthGmail());
});
afterAll(() => gmail.stop());

describe('the authorization code flow, driven with plain fetch', () => {
  it('redirects with a code, the state and the issuer, and the code buys a token bound to the MCP endpoint', async () => {
    const client = await register(gmail);
    const { verifier, challenge } = pkce();
    const location = await authorize(gmail, client, { challenge, state: 'xyz 123' });
    expect(`${location.origin}${location.pathname}`).toBe(redirectUri);
    expect(location.searchParams.get('state')).toBe('xyz 123');
    expect(location.searchParams.get('iss')).toBe(gmail.url);
    const code = location.searchParams.get('code') ?? '';
    const response = await tokenRequest(gmail, client, {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: redirectUri,
      resource: gmail.mcpUrl,
    });
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
});
