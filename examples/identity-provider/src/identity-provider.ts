import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AdapterFactory, ClientMetadata, Configuration, JWK, KoaContextWithOIDC } from 'oidc-provider';
import { errors, Provider } from 'oidc-provider';
import { z } from 'zod';
import { createInteractionHandler } from './interactions.ts';
import { createMemoryAdapter } from './memory-adapter.ts';
import { logoutPage, messagePage, pageSecurityHeaders } from './pages.ts';
import { claimsOf, demoPassword, demoUsers, type IdentityUser, identityUserSchema } from './users.ts';

/** A client registered with the provider at start (more may register themselves when `registration` is on). */
export interface IdentityClient {
  readonly clientId: string;
  /** Absent for a public client (`tokenEndpointAuthMethod: 'none'`). */
  readonly clientSecret?: string;
  readonly redirectUris: readonly string[];
  /** Where RP-initiated logout may send the user back to. */
  readonly postLogoutRedirectUris?: readonly string[];
  /** Shown on the sign-in and consent pages. Default: the client id. */
  readonly clientName?: string;
  /** Default `['authorization_code', 'refresh_token']`. */
  readonly grantTypes?: readonly ('authorization_code' | 'refresh_token' | 'client_credentials')[];
  /** Default `client_secret_basic` with a secret, `none` without. */
  readonly tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post' | 'none';
}

/** A resource server (an API, an MCP server) that clients may ask access tokens for with `resource` (RFC 8707). */
export interface IdentityResource {
  /** The scopes it understands, e.g. `['mail.read', 'mail.send']`. */
  readonly scopes: readonly string[];
  /** The tokens' `aud`. Default: the resource indicator itself. */
  readonly audience?: string;
  /** Default 3,600 s. */
  readonly accessTokenTtlSeconds?: number;
}

/** Options of {@link startIdentityProvider}. */
export interface IdentityProviderOptions {
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** The issuer URL. Default `http://<host>:<port>` once listening. */
  readonly issuer?: string;
  /** Shown on every page. Default `Steward ID`. */
  readonly name?: string;
  /** Who can sign in. Default {@link demoUsers}: alice, bob and admin. */
  readonly users?: readonly IdentityUser[];
  /** List the demo accounts and their password on the sign-in page. Default: only with the default users. */
  readonly showDemoAccounts?: boolean;
  readonly clients?: readonly IdentityClient[];
  /**
   * Resource servers by indicator (their URL), or a function that looks one up; their access
   * tokens are JWTs (RFC 9068) signed with the provider's key. Any other `resource` is refused
   * with `invalid_target`. Default: none.
   */
  readonly resources?:
    | Readonly<Record<string, IdentityResource>>
    | ((indicator: string) => IdentityResource | undefined);
  /** Open dynamic client registration (RFC 7591) at `/reg`. Default true. */
  readonly registration?: boolean;
  /**
   * When a client allowed the `refresh_token` grant gets one: `offline_access` (the standard:
   * it asked for the scope with `prompt=consent`), or `confidential` (also any client with a
   * secret, without asking). Default `offline_access`.
   */
  readonly refreshTokens?: 'offline_access' | 'confidential';
  /** Keys that sign the provider's cookies. Default: random per start. */
  readonly cookieKeys?: readonly string[];
  /** Where sessions, grants and tokens live. Default: this process's memory. */
  readonly adapter?: AdapterFactory;
}

/** A running provider. */
export interface IdentityProvider {
  /** The issuer: discovery is at `${issuer}/.well-known/openid-configuration`. */
  readonly issuer: string;
  readonly users: readonly IdentityUser[];
  /** The oidc-provider instance, for what these options do not cover. */
  readonly provider: Provider;
  stop(): Promise<void>;
}

const clientSchema = z
  .object({
    clientId: z.string().min(1).max(255),
    clientSecret: z.string().min(16).max(512).optional(),
    redirectUris: z.array(z.url()).min(1),
    postLogoutRedirectUris: z.array(z.url()).optional(),
    clientName: z.string().min(1).max(200).optional(),
    grantTypes: z
      .array(z.enum(['authorization_code', 'refresh_token', 'client_credentials']))
      .min(1)
      .optional(),
    tokenEndpointAuthMethod: z.enum(['client_secret_basic', 'client_secret_post', 'none']).optional(),
  })
  .strict();
const resourceSchema = z
  .object({
    scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/)).max(100),
    audience: z.string().min(1).optional(),
    accessTokenTtlSeconds: z.number().int().positive().max(86_400).optional(),
  })
  .strict();
const optionsSchema = z
  .object({
    port: z.number().int().min(0).max(65_535).optional(),
    host: z.string().min(1).optional(),
    issuer: z.url().optional(),
    name: z.string().min(1).max(100).optional(),
    users: z.array(identityUserSchema).min(1).optional(),
    showDemoAccounts: z.boolean().optional(),
    clients: z.array(clientSchema).optional(),
    resources: z
      .union([
        z.record(z.url(), resourceSchema),
        z.custom<(indicator: string) => IdentityResource | undefined>((value) => typeof value === 'function'),
      ])
      .optional(),
    registration: z.boolean().optional(),
    refreshTokens: z.enum(['offline_access', 'confidential']).optional(),
    cookieKeys: z.array(z.string().min(32)).min(1).optional(),
    adapter: z.custom<AdapterFactory>((value) => typeof value === 'function').optional(),
  })
  .strict();

function toClientMetadata(client: z.output<typeof clientSchema>): ClientMetadata {
  const method =
    client.tokenEndpointAuthMethod ?? (client.clientSecret === undefined ? 'none' : 'client_secret_basic');
  return {
    client_id: client.clientId,
    ...(client.clientSecret === undefined ? {} : { client_secret: client.clientSecret }),
    redirect_uris: client.redirectUris,
    post_logout_redirect_uris: client.postLogoutRedirectUris ?? [],
    client_name: client.clientName ?? client.clientId,
    grant_types: client.grantTypes ?? ['authorization_code', 'refresh_token'],
    response_types: client.grantTypes?.includes('authorization_code') === false ? [] : ['code'],
    token_endpoint_auth_method: method,
  };
}

/** An RSA signing key made at start: tokens from an earlier start do not verify after a restart. */
function signingKeys(): { keys: JWK[] } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    keys: [
      { ...(privateKey.export({ format: 'jwk' }) as JWK), use: 'sig', kid: randomBytes(8).toString('hex') },
    ],
  };
}

/**
 * Starts a complete OpenID Connect provider (oidc-provider) in this process: authorization code
 * with PKCE required, its own sign-in, consent and sign-out pages, the given users (alice, bob
 * and an admin by default), resource indicators with JWT access tokens, dynamic client
 * registration, refresh tokens, revocation, introspection and client credentials. The Express
 * host signs people in with it; an MCP server can use it as its authorization server.
 *
 * @example
 * ```ts
 * const idp = await startIdentityProvider({
 *   clients: [{ clientId: 'web', clientSecret: 'a-long-secret-of-16+', redirectUris: ['http://localhost:3000/auth/callback'] }],
 *   resources: { 'http://localhost:8931/mcp': { scopes: ['mail.read'] } },
 * });
 * console.log(`${idp.issuer}/.well-known/openid-configuration`);
 * ```
 */
export async function startIdentityProvider(
  options: IdentityProviderOptions = {},
): Promise<IdentityProvider> {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw new Error(`startIdentityProvider: ${z.prettifyError(parsed.error)}`);
  const config = parsed.data;
  const users: readonly IdentityUser[] = config.users ?? demoUsers;
  const name = config.name ?? 'Steward ID';
  const showDemo = config.showDemoAccounts ?? config.users === undefined;
  const resources = config.resources;
  const resourceOf = (indicator: string): IdentityResource | undefined =>
    typeof resources === 'function'
      ? resources(indicator)
      : (resources?.[indicator] as IdentityResource | undefined);

  let handle: ((request: IncomingMessage, response: ServerResponse) => void) | undefined;
  const server: Server = createServer((request, response) => {
    if (handle === undefined) response.writeHead(503).end();
    else handle(request, response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port ?? 0, config.host ?? '127.0.0.1', () => resolve());
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });

  try {
    const address = server.address() as AddressInfo;
    const hostName = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const issuer = config.issuer ?? `http://${hostName}:${address.port}`;
    const configuration: Configuration = {
      adapter: config.adapter ?? createMemoryAdapter(),
      clients: (config.clients ?? []).map(toClientMetadata),
      findAccount: (_ctx, id) => {
        const user = users.find((candidate) => candidate.id === id);
        return user === undefined ? undefined : { accountId: user.id, claims: () => claimsOf(user) };
      },
      claims: {
        openid: ['sub'],
        profile: ['name', 'preferred_username'],
        email: ['email', 'email_verified'],
        roles: ['roles'],
      },
      scopes: ['openid', 'offline_access', 'profile', 'email', 'roles'],
      // Claims of the granted scopes go in the ID token too, so a client needs no userinfo call.
      conformIdTokenClaims: false,
      cookies: { keys: [...(config.cookieKeys ?? [randomBytes(32).toString('base64url')])] },
      jwks: signingKeys(),
      pkce: { required: () => true },
      interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
      issueRefreshToken: async (_ctx, client, code) =>
        client.grantTypeAllowed('refresh_token') &&
        (code.scopes.has('offline_access') ||
          (config.refreshTokens === 'confidential' && client.clientAuthMethod !== 'none')),
      ttl: {
        AccessToken: 3_600,
        AuthorizationCode: 60,
        ClientCredentials: 600,
        IdToken: 3_600,
        Interaction: 3_600,
        Grant: 14 * 24 * 3_600,
        RefreshToken: 14 * 24 * 3_600,
        Session: 24 * 3_600,
      },
      features: {
        devInteractions: { enabled: false },
        registration: { enabled: config.registration ?? true },
        revocation: { enabled: true },
        introspection: { enabled: true },
        clientCredentials: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: async () => undefined,
          // A client that named its resource at authorization gets that token without naming it again.
          useGrantedResource: async () => true,
          getResourceServerInfo: async (_ctx, indicator) => {
            const resource = resourceOf(indicator);
            if (resource === undefined) throw new errors.InvalidTarget();
            return {
              scope: resource.scopes.join(' '),
              ...(resource.audience === undefined ? {} : { audience: resource.audience }),
              accessTokenTTL: resource.accessTokenTtlSeconds ?? 3_600,
              accessTokenFormat: 'jwt',
              jwt: { sign: { alg: 'RS256' } },
            };
          },
        },
        rpInitiatedLogout: {
          enabled: true,
          logoutSource: async (ctx: KoaContextWithOIDC, form: string) => {
            ctx.type = 'html';
            ctx.body = logoutPage(name, form);
          },
          postLogoutSuccessSource: async (ctx: KoaContextWithOIDC) => {
            ctx.type = 'html';
            ctx.body = messagePage(name, 'Signed out', 'You are signed out. You can close this page.');
          },
        },
      },
      renderError: async (ctx, out) => {
        ctx.type = 'html';
        const description = typeof out.error_description === 'string' ? out.error_description : out.error;
        ctx.body = messagePage(
          name,
          'Something went wrong',
          String(description ?? 'The request could not be completed.'),
        );
      },
    };
    const provider = new Provider(issuer, configuration);
    provider.use(async (ctx, next) => {
      await next();
      if (ctx.type === 'text/html')
        for (const [header, value] of Object.entries(pageSecurityHeaders)) ctx.set(header, value);
    });
    const callback = provider.callback();
    handle = createInteractionHandler({
      provider,
      users,
      name,
      hint: showDemo
        ? [
            ...users.map(
              (user) => `${user.username}${user.roles.includes('admin') ? ' (administrator)' : ''}`,
            ),
            `password: ${demoPassword}`,
          ]
        : undefined,
      next: callback,
    });
    return { issuer, users, provider, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
