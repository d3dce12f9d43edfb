import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connect,
  type Gmail,
  initialize,
  mcpSession,
  postForm,
  register,
  startOAuthGmail,
  type TestClock,
  type Tokens,
  tokenRequest,
} from './test-helpers.ts';

let gmail: Gmail;
let clock: TestClock;
beforeAll(async () => {
  ({ gmail, clock } = await startOAuthGmail({
    clients: [
      {
        client_id: 'pre-registered',
        client_secret: 'pre-registered-secret',
        redirect_uris: ['http://127.0.0.1:9/callback'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
  }));
});
afterAll(() => gmail.stop());

/** Whether the MCP endpoint takes `token`: 200, or 401. */
const fetchWith = (token: string) =>
  initialize(gmail, token).then(async (response) => {
    await response.text();
    return response;
  });

describe('token endpoint client authentication', () => {
  it.each(['client_secret_basic', 'client_secret_post', 'none'] as const)(
    'completes the flow for a %s client',
    async (method) => {
      const client = await register(gmail, { token_endpoint_auth_method: method });
      const { tokens } = await connect(gmail, { client });
      expect(tokens.access_token).toMatch(/^gmat_/);
      const requests = gmail.oauth?.requests.filter((request) => request.path === '/token') ?? [];
      const last = requests.at(-1);
      expect(last?.authorization).toBe(method === 'client_secret_basic' ? 'Basic' : undefined);
      expect(last?.body.client_secret).toBe(method === 'client_secret_post' ? '[redacted]' : undefined);
      expect(last?.body).toMatchObject({ grant_type: 'authorization_code', resource: gmail.mcpUrl });
    },
  );

  it('takes a pre-registered client', async () => {
    const client = {
      client_id: 'pre-registered',
      client_secret: 'pre-registered-secret',
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_post',
    };
    const { tokens } = await connect(gmail, { client });
    expect(tokens.refresh_token).toMatch(/^gmrt_/);
  });

  it('holds a client to its method and its secret, 401 invalid_client with a Basic challenge', async () => {
    const client = await register(gmail, { token_endpoint_auth_method: 'client_secret_basic' });
    const { tokens } = await connect(gmail, { client });
    const form = { grant_type: 'refresh_token', refresh_token: tokens.refresh_token ?? '' };
    const basic = (id: string, secret: string) =>
      `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
    const wrongSecret = await postForm(`${gmail.url}/token`, form, {
      authorization: basic(client.client_id, 'nope'),
    });
    expect(wrongSecret.status).toBe(401);
    expect(wrongSecret.headers.get('www-authenticate')).toBe('Basic realm="gmail-mock"');
    expect(await wrongSecret.json()).toMatchObject({ error: 'invalid_client' });
    const asPost = await postForm(`${gmail.url}/token`, {
      ...form,
      client_id: client.client_id,
      client_secret: client.client_secret ?? '',
    });
    expect(asPost.status).toBe(401);
    expect(await asPost.json()).toMatchObject({ error: 'invalid_client' });
    const noSecret = await postForm(`${gmail.url}/token`, { ...form, client_id: client.client_id });
    expect(noSecret.status).toBe(401);
    const both = await postForm(
      `${gmail.url}/token`,
      { ...form, client_secret: client.client_secret ?? '' },
      { authorization: basic(client.client_id, client.client_secret ?? '') },
    );
    expect(both.status).toBe(400);
    expect(await both.json()).toMatchObject({ error: 'invalid_request' });
    // Nothing was spent by the refusals: the refresh token still works.
    expect((await tokenRequest(gmail, client, form)).status).toBe(200);
  });

  it('decodes form-urlencoded Basic credentials (RFC 6749 §2.3.1)', async () => {
    const client = await register(gmail, {});
    const { tokens } = await connect(gmail, { client });
    const encoded = `${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret ?? '')}`;
    const response = await postForm(
      `${gmail.url}/token`,
      { grant_type: 'refresh_token', refresh_token: tokens.refresh_token ?? '' },
      { authorization: `Basic ${Buffer.from(encoded).toString('base64')}` },
    );
    expect(response.status).toBe(200);
  });
});

describe('refresh tokens', () => {
  const refresh = (
    client: Parameters<typeof tokenRequest>[1],
    refreshToken: string,
    extra: Record<string, string> = {},
  ) => tokenRequest(gmail, client, { grant_type: 'refresh_token', refresh_token: refreshToken, ...extra });

  it('expire the access token after 10 minutes: 401 invalid_token with the challenge, then a refresh works again', async () => {
    const { client, tokens } = await connect(gmail);
    const session = await mcpSession(gmail, tokens.access_token);
    clock.advance(600_000);
    const expired = await session.call('GMAIL_FETCH_EMAILS', { user_id: 'me' });
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toBe(
      `Bearer error="invalid_token", error_description="The access token has expired", resource_metadata="${gmail.url}/.well-known/oauth-protected-resource/mcp", scope="gmail.readonly"`,
    );
    const response = await refresh(client, tokens.refresh_token ?? '', { resource: gmail.mcpUrl });
    expect(response.status).toBe(200);
    const fresh = (await response.json()) as Tokens;
    expect(fresh.access_token).not.toBe(tokens.access_token);
    expect((await session.call('GMAIL_FETCH_EMAILS', { user_id: 'me' }, fresh.access_token)).status).toBe(
      200,
    );
  });

  it('rotate: the old refresh token is refused after use, and presenting it again revokes the whole grant', async () => {
    const { client, tokens } = await connect(gmail);
    const rotated = (await (await refresh(client, tokens.refresh_token ?? '')).json()) as Tokens;
    expect(rotated.refresh_token).toMatch(/^gmrt_/);
    expect(rotated.refresh_token).not.toBe(tokens.refresh_token);
    const replay = await refresh(client, tokens.refresh_token ?? '');
    expect(replay.status).toBe(400);
    expect(await replay.json()).toMatchObject({ error: 'invalid_grant' });
    // The replay means the old token leaked: the legitimate holder's new tokens go too.
    expect((await refresh(client, rotated.refresh_token ?? '')).status).toBe(400);
    expect((await fetchWith(rotated.access_token)).status).toBe(401);
  });

  it('give a client whose refreshes crossed the same successor within the reuse interval, and no later', async () => {
    const lenient = await startOAuthGmail({ refreshTokenReuseIntervalMs: 30_000 });
    try {
      const { client, tokens } = await connect(lenient.gmail);
      const again = (token: string) =>
        tokenRequest(lenient.gmail, client, { grant_type: 'refresh_token', refresh_token: token });
      const first = (await (await again(tokens.refresh_token ?? '')).json()) as Tokens;
      const crossed = await again(tokens.refresh_token ?? '');
      expect(crossed.status).toBe(200);
      const second = (await crossed.json()) as Tokens;
      expect(second.refresh_token).toBe(first.refresh_token);
      expect(second.access_token).not.toBe(first.access_token);
      lenient.clock.advance(30_000);
      expect((await again(tokens.refresh_token ?? '')).status).toBe(400);
      expect((await again(first.refresh_token ?? '')).status).toBe(400);
    } finally {
      await lenient.gmail.stop();
    }
  });

  it('narrow the scope on request but never widen it, and keep the resource', async () => {
    const { client, tokens } = await connect(gmail, { scope: 'gmail.readonly gmail.send' });
    const narrowed = await refresh(client, tokens.refresh_token ?? '', { scope: 'gmail.readonly' });
    const body = (await narrowed.json()) as Tokens;
    expect(body.scope).toBe('gmail.readonly');
    const readOnly = await connect(gmail);
    const widened = await refresh(readOnly.client, readOnly.tokens.refresh_token ?? '', {
      scope: 'gmail.readonly gmail.send',
    });
    expect(await widened.json()).toMatchObject({ error: 'invalid_scope' });
    const elsewhere = await refresh(readOnly.client, readOnly.tokens.refresh_token ?? '', {
      resource: 'https://calendar.example/mcp',
    });
    expect(await elsewhere.json()).toMatchObject({ error: 'invalid_target' });
    const other = await register(gmail);
    const stolen = await refresh(other, readOnly.tokens.refresh_token ?? '');
    expect(await stolen.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('come only with offline_access in the offline_access mode', async () => {
    const offline = await startOAuthGmail({ refreshTokens: 'offline_access' });
    try {
      const without = await connect(offline.gmail, { scope: 'gmail.readonly' });
      expect(without.tokens.refresh_token).toBeUndefined();
      const withOffline = await connect(offline.gmail, { scope: 'gmail.readonly offline_access' });
      expect(withOffline.tokens.refresh_token).toMatch(/^gmrt_/);
      expect(withOffline.tokens.scope).toBe('gmail.readonly offline_access');
    } finally {
      await offline.gmail.stop();
    }
  });
});

describe('revocation (RFC 7009)', () => {
  it('revokes an access token alone, and a refresh token with its access tokens', async () => {
    const { client, tokens } = await connect(gmail);
    const revokeAt = (token: string) =>
      postForm(
        `${gmail.url}/revoke`,
        { token },
        {
          authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
        },
      );
    expect((await revokeAt(tokens.access_token)).status).toBe(200);
    expect((await fetchWith(tokens.access_token)).status).toBe(401);
    const fresh = (await (
      await tokenRequest(gmail, client, {
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token ?? '',
      })
    ).json()) as Tokens;
    expect((await revokeAt(fresh.refresh_token ?? '')).status).toBe(200);
    expect((await fetchWith(fresh.access_token)).status).toBe(401);
    expect(
      (
        await tokenRequest(gmail, client, {
          grant_type: 'refresh_token',
          refresh_token: fresh.refresh_token ?? '',
        })
      ).status,
    ).toBe(400);
    expect((await revokeAt('never-issued')).status).toBe(200);
  });

  it('leaves another client’s token alone', async () => {
    const { tokens } = await connect(gmail);
    const other = await register(gmail, { token_endpoint_auth_method: 'client_secret_post' });
    const response = await postForm(`${gmail.url}/revoke`, {
      token: tokens.access_token,
      client_id: other.client_id,
      client_secret: other.client_secret ?? '',
    });
    expect(response.status).toBe(200);
    expect((await fetchWith(tokens.access_token)).status).toBe(200);
  });
});
