import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cookieOf,
  formFields,
  type Gmail,
  postForm,
  redirectUri,
  startOAuthGmail,
  type TestClock,
} from './test-helpers.ts';

let gmail: Gmail;
let clock: TestClock;
beforeAll(async () => {
  // The SDK client's POST and its GET stream can both meet an expired token and refresh at once.
  ({ gmail, clock } = await startOAuthGmail({ refreshTokenReuseIntervalMs: 30_000 }));
});
afterAll(() => gmail.stop());

/**
 * The official SDK's client side, written for the test: what it stores, plus a "browser" that
 * opens the authorization URL, signs in as `user` and clicks Allow on the consent page.
 */
class BrowserDrivenProvider implements OAuthClientProvider {
  readonly authorizationUrls: URL[] = [];
  code: string | undefined;
  #client: OAuthClientInformationMixed | undefined;
  #tokens: OAuthTokens | undefined;
  #verifier = '';
  #states = 0;

  constructor(
    readonly user: 'alice' | 'bob',
    readonly grantTypes: string[] = ['authorization_code', 'refresh_token'],
  ) {}

  get redirectUrl() {
    return redirectUri;
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'SDK end-to-end client',
      redirect_uris: [redirectUri],
      grant_types: this.grantTypes,
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    };
  }
  state() {
    this.#states += 1;
    return `sdk-state-${this.#states}`;
  }
  clientInformation() {
    return this.#client;
  }
  saveClientInformation(information: OAuthClientInformationMixed) {
    this.#client = information;
  }
  tokens() {
    return this.#tokens;
  }
  saveTokens(tokens: OAuthTokens) {
    this.#tokens = tokens;
  }
  saveCodeVerifier(verifier: string) {
    this.#verifier = verifier;
  }
  codeVerifier() {
    return this.#verifier;
  }
  async redirectToAuthorization(url: URL) {
    this.authorizationUrls.push(url);
    const page = await fetch(url);
    const cookie = cookieOf(page);
    const signedIn = await postForm(
      `${gmail.url}/consent/sign-in`,
      { ...formFields(await page.text()), demo_user: this.user },
      { cookie },
    );
    const decided = await postForm(
      `${gmail.url}/consent`,
      { ...formFields(await signedIn.text()), decision: 'allow' },
      { cookie },
    );
    const location = new URL(decided.headers.get('location') ?? '');
    expect(location.searchParams.get('state')).toBe(url.searchParams.get('state'));
    this.code = location.searchParams.get('code') ?? undefined;
  }
}

/** Connects as an SDK client would in an app: the first try sends the user to authorize, the second connects. */
async function connectClient(provider: BrowserDrivenProvider) {
  const first = new StreamableHTTPClientTransport(new URL(gmail.mcpUrl), { authProvider: provider });
  await expect(new Client({ name: 'sdk-e2e', version: '1.0.0' }).connect(first)).rejects.toThrow(
    'Unauthorized',
  );
  await first.finishAuth(provider.code ?? '');
  const transport = new StreamableHTTPClientTransport(new URL(gmail.mcpUrl), { authProvider: provider });
  const client = new Client({ name: 'sdk-e2e', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

describe('the official MCP SDK client against the OAuth mode', () => {
  it('discovers, registers, authorizes with PKCE and the resource, lists tools and reads alice’s mail', async () => {
    const provider = new BrowserDrivenProvider('alice');
    const { client } = await connectClient(provider);
    try {
      const authorization = provider.authorizationUrls[0];
      expect(Object.fromEntries(authorization?.searchParams ?? [])).toMatchObject({
        response_type: 'code',
        code_challenge_method: 'S256',
        scope: 'gmail.readonly',
        resource: gmail.mcpUrl,
        redirect_uri: redirectUri,
        state: 'sdk-state-1',
      });
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toEqual(['GMAIL_FETCH_EMAILS', 'GMAIL_SEND_EMAIL']);
      const result = await client.callTool({
        name: 'GMAIL_FETCH_EMAILS',
        arguments: { user_id: 'me', max_results: 5 },
      });
      expect(result.structuredContent).toMatchObject({ resultSizeEstimate: 201 });
      expect((result.structuredContent as { messages: unknown[] }).messages).toHaveLength(5);
      const paths = gmail.oauth?.requests.map((request) => `${request.method} ${request.path}`) ?? [];
      expect(paths).toEqual(
        expect.arrayContaining([
          'GET /.well-known/oauth-protected-resource/mcp',
          'GET /.well-known/oauth-authorization-server',
          'POST /register',
          'GET /authorize',
          'POST /token',
        ]),
      );
      const token = gmail.oauth?.requests.find((request) => request.path === '/token');
      expect(token).toMatchObject({
        authorization: 'Basic',
        body: { grant_type: 'authorization_code', resource: gmail.mcpUrl, code_verifier: expect.any(String) },
        status: 200,
      });
    } finally {
      await client.close();
    }
  });

  // The SDK 1.32 client refreshes before it steps up, and a refresh cannot widen the scope (RFC
  // 6749 §6), so with a refresh token it gives up ("403 after trying upscoping"); its v2 skips
  // the refresh there (forceReauthorization). Without a refresh token it goes to the user.
  it('steps up to gmail.send when bob sends: a second consent, then the send counts for bob', async () => {
    const provider = new BrowserDrivenProvider('bob', ['authorization_code']);
    const { client, transport } = await connectClient(provider);
    try {
      const send = () =>
        client.callTool({
          name: 'GMAIL_SEND_EMAIL',
          arguments: { user_id: 'me', to: 'alice@example.com', subject: 'Step-up', body: 'Sent by bob' },
        });
      await expect(send()).rejects.toThrow('Unauthorized');
      expect(provider.authorizationUrls[1]?.searchParams.get('scope')).toBe('gmail.readonly gmail.send');
      await transport.finishAuth(provider.code ?? '');
      await send();
      expect(gmail.mailbox.sentBy('bob@example.com')).toEqual([
        expect.objectContaining({ subject: 'Step-up', from: 'bob@example.com' }),
      ]);
      expect(gmail.mailbox.sentBy('alice@example.com')).toEqual([]);
    } finally {
      await client.close();
    }
  });

  it('refreshes an expired access token without asking the user again', async () => {
    const provider = new BrowserDrivenProvider('alice');
    const { client } = await connectClient(provider);
    try {
      clock.advance(600_000);
      const result = await client.callTool({ name: 'GMAIL_FETCH_EMAILS', arguments: { user_id: 'me' } });
      expect(result.structuredContent).toMatchObject({ resultSizeEstimate: 201 });
      const refreshes =
        gmail.oauth?.requests.filter((request) => request.body.grant_type === 'refresh_token') ?? [];
      expect(refreshes.length).toBeGreaterThan(0);
      for (const refresh of refreshes) {
        expect(refresh).toMatchObject({ status: 200, body: { resource: gmail.mcpUrl } });
      }
      expect(provider.authorizationUrls).toHaveLength(1);
    } finally {
      await client.close();
    }
  });
});
