// The registry against an independent authorization server: oidc-provider, as
// examples/identity-provider runs it (OpenID Connect discovery only, registration at /reg, JWT
// access tokens for resource indicators, refresh tokens for offline_access).
import {
  demoPassword,
  type IdentityProvider,
  startIdentityProvider,
} from '@steward/example-identity-provider';
import { createMcpRegistry, type McpRegistry } from '@steward/mcp';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Agent,
  authorizationRequired,
  callContext,
  recordingFetch,
  testClock,
  testVault,
} from './harness.ts';
import { type ProtectedMcpServer, startProtectedMcpServer } from './protected-mcp-server.ts';

const redirectUrl = 'http://127.0.0.1:9/callback';
let running: { idp: IdentityProvider; mcp: ProtectedMcpServer; registry: McpRegistry } | undefined;
afterEach(async () => {
  await running?.registry.close();
  await running?.mcp.stop();
  await running?.idp.stop();
  running = undefined;
});

async function setup() {
  const mcp = await startProtectedMcpServer({ scopes: ['mail.read'] });
  const idp = await startIdentityProvider({ resources: { [mcp.mcpUrl]: { scopes: ['mail.read'] } } });
  mcp.authorizationServer = idp.issuer;
  const jwks = createRemoteJWKSet(new URL(`${idp.issuer}/jwks`));
  mcp.verify = async (token) => {
    try {
      const { payload } = await jwtVerify(token, jwks, { issuer: idp.issuer, audience: mcp.mcpUrl });
      return { subject: String(payload.sub), scopes: String(payload.scope ?? '').split(' ') };
    } catch {
      return undefined;
    }
  };
  const { sent, fetch } = recordingFetch();
  const clock = testClock();
  const registry = createMcpRegistry({
    servers: [
      {
        name: 'mail',
        transport: 'streamable-http',
        url: mcp.mcpUrl,
        readOnlyTools: ['whoami'],
        auth: { type: 'oauth' },
      },
    ],
    fetch,
    oauth: { vault: testVault(), redirectUrl, clientName: 'Steward tests' },
    _internal: { now: clock.now },
  });
  running = { idp, mcp, registry };
  return { idp, mcp, registry, sent, clock };
}

/** Signs in at oidc-provider's pages as alice and consents; returns the redirect to the client. */
async function signInAndConsent(idp: IdentityProvider, authorizationUrl: string): Promise<URL> {
  const agent = new Agent(new URL(idp.issuer).origin);
  const login = await agent.follow(await agent.go(authorizationUrl));
  if (login instanceof URL) throw new Error(`no sign-in page: ${login.href}`);
  const loginHtml = await login.text();
  const action = (page: string) => /<form method="post" action="([^"]+)"/.exec(page)?.[1] ?? '';
  const consent = await agent.follow(
    await agent.post(`${idp.issuer}${action(loginHtml)}`, { username: 'alice', password: demoPassword }),
  );
  if (consent instanceof URL) return consent;
  const back = await agent.follow(await agent.post(`${idp.issuer}${action(await consent.text())}`, {}));
  if (!(back instanceof URL)) throw new Error('no redirect back to the client');
  return back;
}

describe('the registry as an OAuth client of oidc-provider', () => {
  it('discovers it, registers without the resource scopes it keeps per resource, authorizes with PKCE, resource and offline_access, and refreshes', async () => {
    const { idp, registry, sent, clock } = await setup();
    const required = await authorizationRequired(
      registry.callTool('mail__connect', {}, callContext('alice')),
    );

    const discovery = sent.map((request) => `${request.method} ${request.url.pathname} ${request.status}`);
    expect(discovery.slice(0, 4)).toEqual([
      'POST /mcp 401',
      'GET /.well-known/oauth-protected-resource/mcp 200',
      'GET /.well-known/oauth-authorization-server 200', // oidc-provider answers RFC 8414 too
      'POST /reg 201',
    ]);
    // Its scopes_supported has no mail.read (resource scopes are per resource): none is registered.
    expect(sent[3]?.json).not.toHaveProperty('scope');
    expect(sent[3]?.json).toMatchObject({
      client_name: 'Steward tests',
      redirect_uris: [redirectUrl],
      token_endpoint_auth_method: 'client_secret_basic',
    });

    const url = new URL(required.authorizationUrl);
    expect(url.origin).toBe(new URL(idp.issuer).origin);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('resource')).toBe(running?.mcp.mcpUrl);
    // scopes_supported of the resource, and offline_access because the provider lists it.
    expect(url.searchParams.get('scope')).toBe('mail.read offline_access');
    expect(url.searchParams.get('prompt')).toBe('consent');

    const back = await signInAndConsent(idp, required.authorizationUrl);
    expect(back.searchParams.get('state')).toBe(required.state);
    const result = await registry.completeAuthorization({
      state: required.state,
      code: back.searchParams.get('code') ?? '',
      userId: 'alice',
    });
    expect(result).toMatchObject({ server: 'mail', userId: 'alice' });

    const exchange = sent.find((request) => request.body?.get('grant_type') === 'authorization_code');
    expect(exchange?.url.pathname).toBe('/token');
    expect(exchange?.authorization).toMatch(/^Basic /);
    expect(exchange?.body?.get('resource')).toBe(running?.mcp.mcpUrl);
    expect(exchange?.body?.get('code_verifier')).toMatch(/^[A-Za-z0-9._~-]{43,128}$/);
    expect(exchange?.body?.has('client_secret')).toBe(false);

    const answer = JSON.stringify(await registry.callTool('mail__whoami', {}, callContext('alice')));
    expect(answer).toContain('alice');

    // An hour later the JWT is near expiry: refreshed with the refresh token, for the resource.
    clock.advance(3_590_000);
    await registry.callTool('mail__whoami', {}, callContext('alice'));
    const refresh = sent.find((request) => request.body?.get('grant_type') === 'refresh_token');
    expect(refresh?.body?.get('resource')).toBe(running?.mcp.mcpUrl);
    expect(refresh?.authorization).toMatch(/^Basic /);
  });
});
