import { createHash, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IdentityProvider, startIdentityProvider } from './identity-provider.ts';
import { demoPassword } from './users.ts';

const resource = 'http://127.0.0.1:9/mcp';
const redirectUri = 'http://127.0.0.1:9/callback';
let idp: IdentityProvider;

beforeAll(async () => {
  idp = await startIdentityProvider({ resources: { [resource]: { scopes: ['mail.read', 'mail.send'] } } });
});
afterAll(() => idp?.stop());

/** A browser's cookies and redirects, by hand, so each step of the flow is asserted. */
class Agent {
  readonly cookies = new Map<string, string>();
  async go(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0)
      headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const index = pair.indexOf('=');
      this.cookies.set(pair.slice(0, index), pair.slice(index + 1));
    }
    return response;
  }
  /** Follows redirects on this origin until one leaves it (the client's redirect URI) or a page answers. */
  async follow(response: Response): Promise<Response | URL> {
    let current = response;
    while (current.status >= 300 && current.status < 400) {
      const next = new URL(current.headers.get('location') ?? '', idp.issuer);
      if (next.origin !== new URL(idp.issuer).origin) return next;
      current = await this.go(next.href);
    }
    return current;
  }
  post(url: string, fields: Record<string, string>) {
    return this.go(url, { method: 'POST', body: new URLSearchParams(fields) });
  }
}

const formAction = (page: string) => /<form method="post" action="([^"]+)"/.exec(page)?.[1] ?? '';

async function register() {
  const response = await fetch(`${idp.issuer}/reg`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      redirect_uris: [redirectUri],
      client_name: 'Mail <b>client</b>',
      grant_types: ['authorization_code', 'refresh_token'],
    }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as { client_id: string; client_secret: string };
}

describe('startIdentityProvider', () => {
  it('publishes discovery with PKCE, registration, resource indicators and the demo scopes', async () => {
    const metadata = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(metadata).toMatchObject({
      issuer: idp.issuer,
      registration_endpoint: `${idp.issuer}/reg`,
      code_challenge_methods_supported: ['S256'],
      scopes_supported: expect.arrayContaining(['openid', 'profile', 'email', 'roles', 'offline_access']),
    });
  });

  it('runs a dynamically registered client through sign-in, consent and the code exchange, with a JWT access token for the resource', async () => {
    const client = await register();
    const agent = new Agent();
    const verifier = randomBytes(32).toString('base64url');
    const state = randomBytes(8).toString('hex');
    const authorize = new URL(`${idp.issuer}/auth`);
    authorize.search = new URLSearchParams({
      client_id: client.client_id,
      response_type: 'code',
      redirect_uri: redirectUri,
      scope: 'openid profile roles offline_access mail.read',
      prompt: 'consent',
      state,
      nonce: 'n-1',
      resource,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();

    const loginPage = await agent.follow(await agent.go(authorize.href));
    if (loginPage instanceof URL) throw new Error('no sign-in page');
    const loginHtml = await loginPage.text();
    // The client chose its own name: it is shown escaped.
    expect(loginHtml).toContain('Sign in to continue to Mail &lt;b&gt;client&lt;/b&gt;');
    expect(loginPage.headers.get('content-security-policy')).toContain("default-src 'none'");

    const wrong = await agent.post(`${idp.issuer}${formAction(loginHtml)}`, {
      username: 'alice',
      password: 'nope',
    });
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toContain('do not match');

    const consent = await agent.follow(
      await agent.post(`${idp.issuer}${formAction(loginHtml)}`, {
        username: 'alice',
        password: demoPassword,
      }),
    );
    if (consent instanceof URL) throw new Error('no consent page');
    const consentHtml = await consent.text();
    expect(consentHtml).toContain('Your name and username');
    expect(consentHtml).toContain(resource);

    const back = await agent.follow(await agent.post(`${idp.issuer}${formAction(consentHtml)}`, {}));
    if (!(back instanceof URL)) throw new Error('no redirect back to the client');
    expect(back.searchParams.get('state')).toBe(state);
    const code = back.searchParams.get('code') ?? '';

    const token = await fetch(`${idp.issuer}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: redirectUri,
        code_verifier: verifier,
        resource,
      }),
    });
    const tokens = (await token.json()) as { access_token: string; id_token: string; refresh_token?: string };
    expect(token.status).toBe(200);
    expect(tokens.refresh_token).toBeDefined();
    const jwks = createRemoteJWKSet(new URL(`${idp.issuer}/jwks`));
    const { payload } = await jwtVerify(tokens.access_token, jwks, {
      issuer: idp.issuer,
      audience: resource,
    });
    expect(payload).toMatchObject({ sub: 'user-alice', scope: 'mail.read', client_id: client.client_id });
    expect(decodeJwt(tokens.id_token)).toMatchObject({
      sub: 'user-alice',
      nonce: 'n-1',
      name: 'Alice Adams',
      roles: [],
    });
  });

  it('refuses a resource it does not know (invalid_target) and a request without PKCE', async () => {
    const client = await register();
    const base = {
      client_id: client.client_id,
      response_type: 'code',
      redirect_uri: redirectUri,
      scope: 'openid',
    };
    const unknown = new URL(`${idp.issuer}/auth`);
    unknown.search = new URLSearchParams({
      ...base,
      resource: 'https://elsewhere.example/api',
      code_challenge: 'x'.repeat(43),
      code_challenge_method: 'S256',
    }).toString();
    const refused = new URL((await fetch(unknown, { redirect: 'manual' })).headers.get('location') ?? '');
    expect(refused.searchParams.get('error')).toBe('invalid_target');

    const noPkce = new URL(`${idp.issuer}/auth`);
    noPkce.search = new URLSearchParams(base).toString();
    const answer = new URL((await fetch(noPkce, { redirect: 'manual' })).headers.get('location') ?? '');
    expect(answer.searchParams.get('error')).toBe('invalid_request');
  });
});
