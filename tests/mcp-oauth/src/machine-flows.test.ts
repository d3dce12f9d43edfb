// Client credentials (secret and private_key_jwt), token exchange for enterprise-managed
// authorization, and Client ID Metadata Documents, against a small authorization server that
// publishes OpenID Connect discovery only.
import { generateKeyPairSync } from 'node:crypto';
import { createMcpRegistry, type McpRegistry, type McpServerConfig } from '@steward/mcp';
import { afterEach, describe, expect, it } from 'vitest';
import { authorizationRequired, callContext, recordingFetch, testVault } from './harness.ts';
import { type ProtectedMcpServer, startProtectedMcpServer } from './protected-mcp-server.ts';
import {
  type SmallAuthorizationServer,
  type SmallAuthorizationServerOptions,
  startSmallAuthorizationServer,
} from './small-authorization-server.ts';

const redirectUrl = 'http://127.0.0.1:9/callback';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(
  options: Omit<SmallAuthorizationServerOptions, 'resource'>,
  auth: (as: SmallAuthorizationServer) => NonNullable<Extract<McpServerConfig, { url: string }>['auth']>,
  registryOauth: { clientMetadataUrl?: string } = {},
) {
  const mcp: ProtectedMcpServer = await startProtectedMcpServer();
  const as = await startSmallAuthorizationServer({ ...options, resource: mcp.mcpUrl });
  mcp.authorizationServer = as.issuer;
  mcp.verify = async (token) => as.tokens.get(token);
  const { sent, fetch } = recordingFetch();
  const registry: McpRegistry = createMcpRegistry({
    servers: [
      {
        name: 'svc',
        transport: 'streamable-http',
        url: mcp.mcpUrl,
        readOnlyTools: ['whoami'],
        auth: auth(as),
      },
    ],
    fetch,
    oauth: { vault: testVault(), redirectUrl, ...registryOauth },
  });
  cleanups.push(
    () => mcp.stop(),
    () => as.stop(),
    () => registry.close(),
  );
  await registry.ready();
  return { mcp, as, registry, sent };
}

describe('machine-to-machine and enterprise-managed authorization', () => {
  it('gets a client credentials token with client_secret_basic, through OpenID Connect discovery', async () => {
    const { as, registry, sent } = await setup({ secrets: { 'svc-client': 'svc-secret' } }, () => ({
      type: 'client_credentials',
      clientId: 'svc-client',
      clientSecret: 'svc-secret',
      scopes: ['svc.read'],
    }));
    const answer = JSON.stringify(await registry.callTool('svc__whoami', {}, callContext('anyone')));
    expect(answer).toContain('client:svc-client');
    const paths = sent.map((request) => `${request.method} ${request.url.pathname} ${request.status}`);
    expect(paths).toContain('GET /.well-known/oauth-authorization-server 404');
    expect(paths).toContain('GET /.well-known/openid-configuration 200');
    const token = as.requests.find((request) => request.path === '/token');
    expect(token).toMatchObject({
      authorization: 'Basic',
      form: { grant_type: 'client_credentials', scope: 'svc.read' },
    });
    expect(token?.form.client_secret).toBeUndefined();
    // One token for the server, shared by every user's calls.
    await registry.callTool('svc__whoami', {}, callContext('someone-else'));
    expect(as.requests.filter((request) => request.path === '/token')).toHaveLength(1);
  });

  it('authenticates with private_key_jwt: a signed assertion, no secret', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const { as, registry } = await setup(
      { publicKeys: { 'svc-jwt': publicKey.export({ type: 'spki', format: 'pem' }).toString() } },
      () => ({
        type: 'client_credentials',
        clientId: 'svc-jwt',
        privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      }),
    );
    expect(JSON.stringify(await registry.callTool('svc__whoami', {}, callContext('u')))).toContain(
      'client:svc-jwt',
    );
    const token = as.requests.find((request) => request.path === '/token');
    expect(token?.authorization).toBeUndefined();
    expect(token?.form).toMatchObject({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    });
    expect(token?.form.client_assertion?.split('.')).toHaveLength(3);
  });

  it('exchanges the user’s ID token at the IdP for an ID-JAG, then for an access token (cross-app access)', async () => {
    const { as, registry } = await setup(
      {
        secrets: { 'steward-at-as': 'as-secret', 'steward-at-idp': 'idp-secret' },
        identityTokens: { 'id-token-of-alice': 'alice' },
      },
      (server) => ({
        type: 'token_exchange',
        clientId: 'steward-at-as',
        clientSecret: 'as-secret',
        identityProvider: {
          tokenEndpoint: `${server.issuer}/idp/token`,
          clientId: 'steward-at-idp',
          clientSecret: 'idp-secret',
        },
        subjectToken: async ({ userId }) => (userId === 'alice' ? 'id-token-of-alice' : undefined),
      }),
    );
    expect(JSON.stringify(await registry.callTool('svc__whoami', {}, callContext('alice')))).toContain(
      'alice',
    );
    const exchange = as.requests.find((request) => request.path === '/idp/token');
    expect(exchange?.form).toMatchObject({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      requested_token_type: 'urn:ietf:params:oauth:token-type:id-jag',
      subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
      audience: as.issuer,
    });
    expect(exchange?.form.resource).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const bearer = as.requests.find(
      (request) => request.form.grant_type === 'urn:ietf:params:oauth:grant-type:jwt-bearer',
    );
    expect(bearer).toMatchObject({ path: '/token', authorization: 'Basic', status: 200 });
    // A user the IdP has no assertion for gets nothing: the call fails, nobody is asked to browse.
    await expect(registry.callTool('svc__whoami', {}, callContext('bob'))).rejects.toMatchObject({
      code: 'tool_unavailable',
    });
  });

  it('identifies itself with a Client ID Metadata Document where the server supports them, instead of registering', async () => {
    const documentUrl = 'https://steward.example/oauth/client.json';
    const { registry, sent } = await setup(
      { clientDocuments: { [documentUrl]: { redirect_uris: [redirectUrl] } } },
      () => ({ type: 'oauth' }),
      { clientMetadataUrl: documentUrl },
    );
    const required = await authorizationRequired(registry.callTool('svc__connect', {}, callContext('alice')));
    const url = new URL(required.authorizationUrl);
    expect(url.searchParams.get('client_id')).toBe(documentUrl);
    expect(sent.some((request) => request.url.pathname === '/register')).toBe(false);
    const back = new URL((await fetch(url, { redirect: 'manual' })).headers.get('location') ?? '');
    await registry.completeAuthorization({
      state: required.state,
      code: back.searchParams.get('code') ?? '',
      userId: 'alice',
    });
    const exchange = sent.find((request) => request.body?.get('grant_type') === 'authorization_code');
    expect(exchange?.body?.get('client_id')).toBe(documentUrl);
    expect(JSON.stringify(await registry.callTool('svc__whoami', {}, callContext('alice')))).toContain(
      documentUrl,
    );
  });
});
