import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gmail, redirectUri, startOAuthGmail } from './test-helpers.ts';

let gmail: Gmail;
beforeAll(async () => {
  ({ gmail } = await startOAuthGmail());
});
afterAll(() => gmail.stop());

const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
};
const postMcp = (target: Gmail, headers: Record<string, string> = {}) =>
  fetch(target.mcpUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: JSON.stringify(initialize),
  });

describe('discovery (RFC 9728, RFC 8414)', () => {
  it('answers a request without a token 401, pointing at the metadata and the scope to ask for', async () => {
    const response = await postMcp(gmail);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${gmail.url}/.well-known/oauth-protected-resource/mcp", scope="gmail.readonly"`,
    );
    const invalid = await postMcp(gmail, { authorization: 'Bearer not-a-token' });
    expect(invalid.status).toBe(401);
    expect(invalid.headers.get('www-authenticate')).toBe(
      `Bearer error="invalid_token", error_description="The access token is unknown or was revoked", resource_metadata="${gmail.url}/.well-known/oauth-protected-resource/mcp", scope="gmail.readonly"`,
    );
    for (const path of ['/mcp', '/mcp/discover', '/.well-known/mcp']) {
      expect((await fetch(`${gmail.url}${path}`)).status).toBe(401);
    }
  });

  it('serves the protected resource metadata at the path-based and the root well-known URIs', async () => {
    for (const path of [
      '/.well-known/oauth-protected-resource/mcp',
      '/.well-known/oauth-protected-resource',
    ]) {
      const response = await fetch(`${gmail.url}${path}`, {
        headers: { origin: 'http://inspector.example' },
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBe('*');
      expect(await response.json()).toEqual({
        resource: gmail.mcpUrl,
        authorization_servers: [gmail.url],
        scopes_supported: ['gmail.readonly', 'gmail.send'],
        bearer_methods_supported: ['header'],
        resource_name: 'Gmail mock',
      });
    }
    expect((await fetch(`${gmail.url}/.well-known/oauth-protected-resource/other`)).status).toBe(404);
  });

  it('serves the authorization server metadata, issuer spelled as the resource metadata names it', async () => {
    const response = await fetch(`${gmail.url}/.well-known/oauth-authorization-server`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      issuer: gmail.url,
      authorization_endpoint: `${gmail.url}/authorize`,
      token_endpoint: `${gmail.url}/token`,
      registration_endpoint: `${gmail.url}/register`,
      revocation_endpoint: `${gmail.url}/revoke`,
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      scopes_supported: ['gmail.readonly', 'gmail.send'],
      authorization_response_iss_parameter_supported: true,
    });
    // Not an OpenID provider: clients fall back to this only when RFC 8414 metadata is missing.
    expect((await fetch(`${gmail.url}/.well-known/openid-configuration`)).status).toBe(404);
    expect(gmail.oauth?.requests.map((request) => `${request.path} ${request.status}`)).toEqual(
      expect.arrayContaining([
        '/.well-known/oauth-authorization-server 200',
        '/.well-known/openid-configuration 404',
      ]),
    );
  });

  it('advertises offline_access, and only then, when refresh tokens need it', async () => {
    const offline = (await startOAuthGmail({ refreshTokens: 'offline_access' })).gmail;
    try {
      const metadata = await (await fetch(`${offline.url}/.well-known/oauth-authorization-server`)).json();
      expect(metadata.scopes_supported).toEqual(['gmail.readonly', 'gmail.send', 'offline_access']);
      const resource = await (await fetch(`${offline.url}/.well-known/oauth-protected-resource/mcp`)).json();
      expect(resource.scopes_supported).toEqual(['gmail.readonly', 'gmail.send']);
    } finally {
      await offline.stop();
    }
  });

  it('imitates a 2025-03-26 server on request: no metadata, no resource_metadata, default endpoints', async () => {
    const legacy = (
      await startOAuthGmail({ metadata: false, tokenEndpointAuthMethods: ['client_secret_post'] })
    ).gmail;
    try {
      const response = await postMcp(legacy);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer scope="gmail.readonly"');
      for (const path of [
        '/.well-known/oauth-protected-resource/mcp',
        '/.well-known/oauth-authorization-server',
      ]) {
        expect((await fetch(`${legacy.url}${path}`)).status).toBe(404);
      }
      const registered = await fetch(`${legacy.url}/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          redirect_uris: [redirectUri],
          token_endpoint_auth_method: 'client_secret_post',
        }),
      });
      expect(registered.status).toBe(201);
    } finally {
      await legacy.stop();
    }
  });
});

describe('dynamic client registration (RFC 7591)', () => {
  const registration = (body: unknown) =>
    fetch(`${gmail.url}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('registers a confidential client with RFC 7591’s defaults written out, and a public one without a secret', async () => {
    const confidential = await registration({ client_name: 'Steward', redirect_uris: [redirectUri] });
    expect(confidential.status).toBe(201);
    expect(confidential.headers.get('cache-control')).toBe('no-store');
    expect(await confidential.json()).toMatchObject({
      client_id: expect.any(String),
      client_secret: expect.any(String),
      client_id_issued_at: expect.any(Number),
      client_secret_expires_at: expect.any(Number),
      client_name: 'Steward',
      redirect_uris: [redirectUri],
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code'],
      response_types: ['code'],
    });
    const publicClient = await (
      await registration({
        redirect_uris: ['https://app.example/callback', 'http://localhost:4000/cb'],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        scope: 'gmail.readonly offline_access',
      })
    ).json();
    expect(publicClient.client_secret).toBeUndefined();
    expect(publicClient).toMatchObject({
      token_endpoint_auth_method: 'none',
      scope: 'gmail.readonly offline_access',
    });
  });

  it.each([
    ['no redirect URIs', { client_name: 'x' }, 'invalid_client_metadata'],
    ['an empty redirect URI list', { redirect_uris: [] }, 'invalid_redirect_uri'],
    ['a javascript: redirect URI', { redirect_uris: ['javascript:alert(1)'] }, 'invalid_client_metadata'],
    ['plain HTTP off loopback', { redirect_uris: ['http://app.example/callback'] }, 'invalid_redirect_uri'],
    [
      'a redirect URI with a fragment',
      { redirect_uris: ['https://app.example/cb#x'] },
      'invalid_redirect_uri',
    ],
    [
      'the client credentials grant',
      { redirect_uris: [redirectUri], grant_types: ['client_credentials'] },
      'invalid_client_metadata',
    ],
    [
      'the implicit response type',
      { redirect_uris: [redirectUri], response_types: ['token'] },
      'invalid_client_metadata',
    ],
    [
      'private_key_jwt',
      { redirect_uris: [redirectUri], token_endpoint_auth_method: 'private_key_jwt' },
      'invalid_client_metadata',
    ],
    [
      'an unknown scope',
      { redirect_uris: [redirectUri], scope: 'gmail.readonly admin' },
      'invalid_client_metadata',
    ],
    ['a body that is not JSON', '{"redirect_uris": [', undefined],
  ])('refuses %s with a 400 and an RFC 7591 error', async (_name, body, error) => {
    const response = await registration(body);
    expect(response.status).toBe(400);
    if (error !== undefined) expect(await response.json()).toMatchObject({ error });
  });

  it('has no registration endpoint when dynamic registration is off, and pre-registered clients work', async () => {
    const closed = (
      await startOAuthGmail({
        dynamicClientRegistration: false,
        clients: [{ client_id: 'steward', client_secret: 'steward-secret', redirect_uris: [redirectUri] }],
      })
    ).gmail;
    try {
      const metadata = await (await fetch(`${closed.url}/.well-known/oauth-authorization-server`)).json();
      expect(metadata.registration_endpoint).toBeUndefined();
      expect((await fetch(`${closed.url}/register`, { method: 'POST' })).status).toBe(404);
    } finally {
      await closed.stop();
    }
  });
});
