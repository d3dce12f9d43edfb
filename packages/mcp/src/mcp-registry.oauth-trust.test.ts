import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEnvironmentKeyProvider, createTokenVault, isStewardError } from '@steward/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createMcpRegistry } from './mcp-registry.ts';
import { refusalOf } from './registration-error.ts';
import { createInMemoryRegistrationStore } from './registration-store.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const vault = () =>
  createTokenVault({
    keys: createEnvironmentKeyProvider({ keys: `k1:${Buffer.alloc(32, 3).toString('base64')}` }),
  });

/**
 * A registered server whose protected resource metadata names an authorization server on an
 * internal address (what an attacker who controls the server would write).
 */
async function startHostileServer() {
  const paths: string[] = [];
  let origin = '';
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    paths.push(`${request.method} ${request.url}`);
    if (request.url === '/.well-known/oauth-protected-resource/mcp') {
      response.setHeader('content-type', 'application/json');
      response.end(
        JSON.stringify({
          resource: `${origin}/mcp`,
          authorization_servers: [origin.replace('mcp.test', 'metadata.internal')],
        }),
      );
      return;
    }
    response.statusCode = 401;
    response.setHeader(
      'www-authenticate',
      `Bearer resource_metadata="${origin}/.well-known/oauth-protected-resource/mcp"`,
    );
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://mcp.test:${(server.address() as AddressInfo).port}`;
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return { origin, paths };
}

// mcp.test is the registered server (an allowed address); metadata.internal is a private one.
const lookup = async (hostname: string) =>
  hostname === 'mcp.test' ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '10.0.0.5', family: 4 }];

describe('OAuth of registered servers keeps the registration trust rules', () => {
  it('does not fetch an authorization server its metadata puts on a private address', async () => {
    const { origin, paths } = await startHostileServer();
    const registry = createMcpRegistry({
      registrations: { allowedOrigins: [origin], allowedNetworks: ['127.0.0.1'] },
      oauth: { vault: vault(), redirectUrl: 'https://app.example/callback' },
      _internal: { lookup },
    });
    cleanups.push(() => registry.close());
    await registry.register({
      name: 'evil',
      transport: 'streamable-http',
      url: `${origin}/mcp`,
      auth: { type: 'oauth' },
    });
    const error = await registry
      .beginAuthorization({ server: 'evil', userId: 'alice' })
      .catch((caught: unknown) => caught);
    expect(isStewardError(error, 'authorization_failed')).toBe(true);
    expect(refusalOf((error as Error).cause)).toBe('address_not_allowed');
    // The probe and the resource metadata reached the registered server; nothing else left.
    expect(paths).toEqual(['POST /mcp', 'GET /.well-known/oauth-protected-resource/mcp']);
  });

  it('keeps a registration’s client secret in the vault, not in the store or the listing', async () => {
    const { origin } = await startHostileServer();
    const store = createInMemoryRegistrationStore();
    const tokens = vault();
    const registry = createMcpRegistry({
      store,
      registrations: { allowedOrigins: [origin], allowedNetworks: ['127.0.0.1'] },
      oauth: { vault: tokens, redirectUrl: 'https://app.example/callback' },
      _internal: { lookup },
    });
    cleanups.push(() => registry.close());
    await registry.register({
      name: 'm2m',
      transport: 'streamable-http',
      url: `${origin}/mcp`,
      auth: { type: 'client_credentials', clientId: 'svc', clientSecret: 'TOP-SECRET-VALUE' },
    });
    expect(JSON.stringify(await store.list())).not.toContain('TOP-SECRET-VALUE');
    expect(JSON.stringify(registry.list())).not.toContain('TOP-SECRET-VALUE');
    expect(await tokens.get({ userId: '*', kind: 'mcp_oauth_client_secret', name: 'm2m' })).toEqual({
      clientSecret: 'TOP-SECRET-VALUE',
    });
  });

  it('refuses OAuth registrations when the registry has no oauth settings, and credentials left out', async () => {
    const registry = createMcpRegistry({ registrations: { allowedOrigins: ['*'] } });
    cleanups.push(() => registry.close());
    const refused = await registry
      .register({
        name: 'x',
        transport: 'streamable-http',
        url: 'https://x.example/mcp',
        auth: { type: 'oauth' },
      })
      .catch((caught: unknown) => caught);
    expect(refusalOf(refused)).toBe('oauth_unavailable');
    const withOAuth = createMcpRegistry({
      registrations: { allowedOrigins: ['*'] },
      oauth: { vault: vault(), redirectUrl: 'https://app.example/callback' },
      _internal: { lookup: async () => [{ address: '93.184.215.14', family: 4 }] },
    });
    cleanups.push(() => withOAuth.close());
    const missing = await withOAuth
      .register({
        name: 'y',
        transport: 'streamable-http',
        url: 'https://y.example/mcp',
        auth: { type: 'client_credentials', clientId: 'c' },
      })
      .catch((caught: unknown) => caught);
    expect(refusalOf(missing)).toBe('credentials_missing');
  });
});
