// Steward's MCP registry as the OAuth client of the mock's authorization server, asserted at the
// HTTP level: every request the registry made (through its `fetch`) and what the authorization
// server received (`gmail.oauth.requests`). The registry is the client under test here; it
// lives in @steward/mcp, which cannot depend on this example, so the test lives on this side.
import { afterEach, describe, expect, it } from 'vitest';
import {
  authorizationRequired,
  cleanups,
  connectThroughCall,
  consent,
  context,
  redirectUrl,
  setup,
} from './steward-client-harness.ts';

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

const fetchEmails = { user_id: 'me', max_results: 1 };

describe('the registry as an OAuth client of the Gmail mock', () => {
  it('discovers, registers, authorizes with PKCE and resource, and redeems the code for that user', async () => {
    const { gmail, sent, registry } = await setup();
    expect((await registry.listTools(context('alice'))).map((tool) => tool.name)).toEqual(['gmail__connect']);
    expect(sent).toEqual([]); // no token, no request: nothing to ask the server yet

    const { required, result } = await connectThroughCall(registry, gmail, 'alice');
    // Discovery: a request without a token, its 401 challenge, then the metadata it names.
    const paths = sent.map((request) => `${request.method} ${request.url.pathname} ${request.status}`);
    expect(paths.slice(0, 4)).toEqual([
      'POST /mcp 401',
      'GET /.well-known/oauth-protected-resource/mcp 200',
      'GET /.well-known/oauth-authorization-server 200',
      'POST /register 201',
    ]);
    const registration = JSON.parse(sent[3]?.body ?? '{}');
    expect(registration).toMatchObject({
      redirect_uris: [redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
    });
    expect(registration.scope.split(' ').sort()).toEqual(['gmail.readonly', 'gmail.send']);

    const url = new URL(required.authorizationUrl);
    expect(url.origin + url.pathname).toBe(`${gmail.url}/authorize`);
    expect(url.searchParams.get('response_type')).toBe('code');
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('resource')).toBe(gmail.mcpUrl);
    expect(url.searchParams.get('redirect_uri')).toBe(redirectUrl);
    expect(url.searchParams.get('state')).toBe(required.state);
    // The challenge's scope, no offline_access (this server does not list it).
    expect(url.searchParams.get('scope')).toBe('gmail.readonly');
    expect(required).toMatchObject({ server: 'gmail', scopes: ['gmail.readonly'] });
    expect(result).toEqual({
      server: 'gmail',
      userId: 'alice',
      runId: 'run-alice',
      callId: 'call-1',
      scopes: ['gmail.readonly'],
    });

    const token = gmail.oauth?.requests.find((request) => request.path === '/token');
    expect(token?.body).toMatchObject({
      grant_type: 'authorization_code',
      redirect_uri: redirectUrl,
      resource: gmail.mcpUrl,
    });
    expect(token?.body.code_verifier).toMatch(/^[A-Za-z0-9._~-]{43,128}$/);
    expect(token?.authorization).toBe('Basic'); // registered as client_secret_basic

    // The state is single use.
    const again = await registry
      .completeAuthorization({ state: required.state, code: 'x', userId: 'alice' })
      .catch((error) => error);
    expect(again).toMatchObject({ code: 'authorization_failed', details: { reason: 'unknown_state' } });

    const listed = await registry.listTools(context('alice'));
    expect(listed.map((tool) => tool.name).sort()).toEqual([
      'gmail__GMAIL_FETCH_EMAILS',
      'gmail__GMAIL_SEND_EMAIL',
    ]);
    const emails = JSON.stringify(
      await registry.callTool('gmail__GMAIL_FETCH_EMAILS', fetchEmails, context('alice')),
    );
    expect(emails).toContain('"resultSizeEstimate":201'); // alice's mailbox
    expect(await registry.connections('alice')).toEqual([
      { server: 'gmail', status: 'connected', scopes: ['gmail.readonly'], connectedAt: expect.any(String) },
    ]);
    expect(await registry.connections('bob')).toEqual([{ server: 'gmail', status: 'not_connected' }]);
  });

  it('keeps one session per user: bob connects separately and reads his own mailbox', async () => {
    const { gmail, registry } = await setup();
    await connectThroughCall(registry, gmail, 'alice');
    await registry.listTools(context('alice'));
    // Bob is not connected: the catalog alice listed is shown, and calling it asks bob.
    expect((await registry.listTools(context('bob'))).map((tool) => tool.name)).toContain(
      'gmail__GMAIL_FETCH_EMAILS',
    );
    const required = await authorizationRequired(
      registry.callTool('gmail__GMAIL_FETCH_EMAILS', fetchEmails, context('bob')),
    );
    const back = await consent(gmail, required.authorizationUrl, 'bob');
    await registry.completeAuthorization({
      state: required.state,
      code: back.searchParams.get('code') ?? '',
      userId: 'bob',
    });
    const bobs = JSON.stringify(
      await registry.callTool(
        'gmail__GMAIL_FETCH_EMAILS',
        { user_id: 'me', max_results: 50 },
        context('bob'),
      ),
    );
    const alices = JSON.stringify(
      await registry.callTool(
        'gmail__GMAIL_FETCH_EMAILS',
        { user_id: 'me', max_results: 50 },
        context('alice'),
      ),
    );
    expect(bobs).toContain('"resultSizeEstimate":37');
    expect(alices).toContain('"resultSizeEstimate":201');
    // One client registration serves both users.
    expect(gmail.oauth?.requests.filter((request) => request.path === '/register')).toHaveLength(1);
  });

  it('refreshes ahead of expiry, refreshes on a 401, and asks again when the refresh is refused', async () => {
    const { gmail, gmailClock, clock, sent, registry } = await setup();
    await connectThroughCall(registry, gmail, 'alice');
    const refreshes = () =>
      gmail.oauth?.requests.filter((request) => request.body.grant_type === 'refresh_token') ?? [];

    // 9.5 of 10 minutes: within a minute of expiry, the registry refreshes before it sends.
    clock.advance(570_000);
    gmailClock.advance(570_000);
    const before = sent.length;
    await registry.callTool('gmail__GMAIL_FETCH_EMAILS', fetchEmails, context('alice'));
    expect(refreshes()).toHaveLength(1);
    expect(refreshes()[0]?.body).toMatchObject({ resource: gmail.mcpUrl });
    expect(sent.slice(before).some((request) => request.status === 401)).toBe(false);

    // The server alone sees the token expire: its 401 makes the registry refresh and send again.
    gmailClock.advance(601_000);
    await registry.callTool('gmail__GMAIL_FETCH_EMAILS', fetchEmails, context('alice'));
    expect(refreshes()).toHaveLength(2);
    expect(
      sent.filter((request) => request.status === 401 && request.url.pathname === '/mcp').length,
    ).toBeGreaterThan(1);

    // Past the refresh token's 30 days: the refresh is refused, and the user is asked again.
    gmailClock.advance(31 * 24 * 3_600_000);
    clock.advance(31 * 24 * 3_600_000);
    const required = await authorizationRequired(
      registry.callTool('gmail__GMAIL_FETCH_EMAILS', fetchEmails, context('alice')),
    );
    expect(required.server).toBe('gmail');
    expect(await registry.connections('alice')).toMatchObject([{ server: 'gmail', status: 'expired' }]);
  });

  it('steps up on 403 insufficient_scope, keeping the scopes granted, and sends the call after', async () => {
    const { gmail, registry } = await setup();
    await connectThroughCall(registry, gmail, 'alice');
    const send = { user_id: 'me', to: 'bob@example.com', subject: 'Hi', body: 'Hello' };
    const required = await authorizationRequired(
      registry.callTool('gmail__GMAIL_SEND_EMAIL', send, context('alice', 'send-1')),
    );
    expect(required.scopes.sort()).toEqual(['gmail.readonly', 'gmail.send']);
    expect(new URL(required.authorizationUrl).searchParams.get('scope')?.split(' ').sort()).toEqual([
      'gmail.readonly',
      'gmail.send',
    ]);
    const back = await consent(gmail, required.authorizationUrl, 'alice');
    await registry.completeAuthorization({
      state: required.state,
      code: back.searchParams.get('code') ?? '',
      userId: 'alice',
    });
    await registry.callTool('gmail__GMAIL_SEND_EMAIL', send, context('alice', 'send-1'));
    expect(gmail.mailbox.sentBy('alice@example.com')).toHaveLength(1);
  });

  it('stops asking for more scope after maxStepUps for one call', async () => {
    const { gmail, registry } = await setup({}, { type: 'oauth' }, { maxStepUps: 0 });
    await connectThroughCall(registry, gmail, 'alice');
    const send = { user_id: 'me', to: 'bob@example.com', subject: 'Hi', body: 'Hello' };
    const error = await registry
      .callTool('gmail__GMAIL_SEND_EMAIL', send, context('alice'))
      .catch((caught) => caught);
    expect(error).toMatchObject({
      code: 'authorization_failed',
      details: { server: 'gmail', reason: 'insufficient_scope' },
    });
  });

  it('asks for offline_access only when the authorization server lists it', async () => {
    const { registry } = await setup({ refreshTokens: 'offline_access' });
    const start = await registry.beginAuthorization({ server: 'gmail', userId: 'alice' });
    const url = new URL(start.authorizationUrl);
    expect(url.searchParams.get('scope')).toBe('gmail.readonly offline_access');
    expect(url.searchParams.get('prompt')).toBe('consent');
  });

  it('uses the default endpoints of a 2025-03-26 server without metadata, and no resource parameter', async () => {
    const { gmail, sent, registry } = await setup({ metadata: false });
    const { required } = await connectThroughCall(registry, gmail, 'alice');
    const url = new URL(required.authorizationUrl);
    expect(url.origin + url.pathname).toBe(`${gmail.url}/authorize`);
    expect(url.searchParams.has('resource')).toBe(false);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(sent.map((request) => `${request.method} ${request.url.pathname}`)).toContain('POST /register');
    expect(
      JSON.stringify(await registry.callTool('gmail__GMAIL_FETCH_EMAILS', fetchEmails, context('alice'))),
    ).toContain('"resultSizeEstimate":201');
  });

  it('uses a pre-registered client with client_secret_post, without registering', async () => {
    const client = {
      client_id: 'steward-pre',
      client_secret: 'pre-secret-value',
      redirect_uris: [redirectUrl],
      token_endpoint_auth_method: 'client_secret_post',
    };
    const { gmail, registry, warnings } = await setup(
      { clients: [client], tokenEndpointAuthMethods: ['client_secret_basic', 'client_secret_post'] },
      {
        type: 'oauth',
        clientId: 'steward-pre',
        clientSecret: 'pre-secret-value',
        tokenEndpointAuthMethod: 'client_secret_post',
      },
    );
    await connectThroughCall(registry, gmail, 'alice');
    const requests = gmail.oauth?.requests ?? [];
    expect(requests.some((request) => request.path === '/register')).toBe(false);
    const token = requests.find((request) => request.path === '/token');
    expect(token?.authorization).toBeUndefined();
    expect(token?.body).toMatchObject({ client_id: 'steward-pre', client_secret: '[redacted]' });
    expect(JSON.stringify(registry.list())).not.toContain('pre-secret-value');
    expect(JSON.stringify(warnings.map((warning) => [warning.message, warning.details]))).not.toContain(
      'pre-secret-value',
    );
  });

  it('registers a public client (none) where that is the only method', async () => {
    const { gmail, registry } = await setup({ tokenEndpointAuthMethods: ['none'] });
    await connectThroughCall(registry, gmail, 'alice');
    const requests = gmail.oauth?.requests ?? [];
    expect(requests.find((request) => request.path === '/register')?.body).toMatchObject({
      token_endpoint_auth_method: 'none',
    });
    const token = requests.find((request) => request.path === '/token');
    expect(token?.authorization).toBeUndefined();
    expect(token?.body.client_id).toEqual(expect.any(String));
    expect(token?.body.client_secret).toBeUndefined();
  });

  it('disconnects: revokes at the authorization server, forgets the tokens, and asks again', async () => {
    const { gmail, registry } = await setup();
    await connectThroughCall(registry, gmail, 'alice');
    expect(await registry.disconnect({ server: 'gmail', userId: 'alice' })).toBe(true);
    expect(gmail.oauth?.requests.find((request) => request.path === '/revoke')?.body).toMatchObject({
      token_type_hint: 'refresh_token',
    });
    expect(await registry.connections('alice')).toEqual([{ server: 'gmail', status: 'not_connected' }]);
    await authorizationRequired(
      registry.callTool('gmail__GMAIL_FETCH_EMAILS', fetchEmails, context('alice')),
    );
    expect(await registry.disconnect({ server: 'gmail', userId: 'alice' })).toBe(false);
  });

  it('refuses a denied, an expired and an unknown authorization', async () => {
    const { gmail, clock, registry } = await setup();
    const denied = await registry.beginAuthorization({ server: 'gmail', userId: 'alice' });
    const back = await consent(gmail, denied.authorizationUrl, 'alice', 'deny');
    expect(back.searchParams.get('error')).toBe('access_denied');
    await expect(
      registry.completeAuthorization({ state: denied.state, error: 'access_denied', userId: 'alice' }),
    ).rejects.toMatchObject({
      code: 'authorization_failed',
      details: { reason: 'denied', error: 'access_denied' },
    });

    const late = await registry.beginAuthorization({ server: 'gmail', userId: 'alice' });
    clock.advance(600_001);
    await expect(
      registry.completeAuthorization({ state: late.state, code: 'x', userId: 'alice' }),
    ).rejects.toMatchObject({
      details: { reason: 'expired' },
    });
    await expect(
      registry.completeAuthorization({ state: 'nope-nope-nope-nope', code: 'x', userId: 'alice' }),
    ).rejects.toMatchObject({
      details: { reason: 'unknown_state' },
    });
    await expect(registry.beginAuthorization({ server: 'nope', userId: 'alice' })).rejects.toMatchObject({
      code: 'invalid_input',
    });
  });

  it('refuses a user other than the one who started it, before redeeming, and leaves the state usable', async () => {
    // The attack: bob starts an authorization and gets alice to open its URL; she signs in at the
    // authorization server as herself. Her browser's callback must not store her tokens as bob's.
    const { gmail, registry } = await setup();
    const started = await registry.beginAuthorization({ server: 'gmail', userId: 'bob' });
    const back = await consent(gmail, started.authorizationUrl, 'alice');
    const code = back.searchParams.get('code') ?? '';
    await expect(
      registry.completeAuthorization({ state: started.state, code, userId: 'alice' }),
    ).rejects.toMatchObject({
      code: 'authorization_failed',
      details: { reason: 'wrong_user', server: 'gmail' },
    });
    // A caller outside TypeScript that says no user at all is refused the same way.
    const anonymous = { state: started.state, code } as Parameters<typeof registry.completeAuthorization>[0];
    await expect(registry.completeAuthorization(anonymous)).rejects.toMatchObject({
      details: { reason: 'wrong_user' },
    });
    // Nothing was redeemed, nothing stored for either user.
    expect(gmail.oauth?.requests.filter((request) => request.path === '/token')).toEqual([]);
    expect(await registry.connections('bob')).toEqual([{ server: 'gmail', status: 'not_connected' }]);
    expect(await registry.connections('alice')).toEqual([{ server: 'gmail', status: 'not_connected' }]);
    // The state was not used up: bob, its owner, still finishes it with his own consent.
    const own = await consent(gmail, started.authorizationUrl, 'bob');
    await registry.completeAuthorization({
      state: started.state,
      code: own.searchParams.get('code') ?? '',
      userId: 'bob',
    });
    const bobs = JSON.stringify(
      await registry.callTool('gmail__GMAIL_FETCH_EMAILS', fetchEmails, context('bob')),
    );
    expect(bobs).toContain('"resultSizeEstimate":37');
  });

  it('hides a server from users who have not connected when whenDisconnected is hide', async () => {
    const { registry } = await setup({}, { type: 'oauth', whenDisconnected: 'hide' });
    expect(await registry.listTools(context('alice'))).toEqual([]);
  });
});
