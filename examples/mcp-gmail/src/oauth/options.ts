import type { OAuthClientInformationFull } from '@modelcontextprotocol/sdk/shared/auth.js';
import { z } from 'zod';
import { fixtureUsers } from '../mailbox.ts';
import type { GmailScope } from '../tools.ts';

/** How a client authenticates at the token and revocation endpoints (RFC 6749 §2.3, RFC 7591 §2). */
export type TokenEndpointAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

/** Someone who can sign in on the consent page; their `email` is the mailbox their tokens reach. */
export interface GmailOAuthUser {
  /** What they type (or click) to sign in: `alice`. */
  readonly username: string;
  /** Their mailbox: one of the fixture's (`alice@example.com`, `bob@example.com`). */
  readonly email: string;
  /** Shown on the consent page. */
  readonly name: string;
  /** Signs in with the password form. */
  readonly password: string;
}

/** The fixture's two users. Their passwords are in the README: this is a mock. */
export const demoUsers: readonly GmailOAuthUser[] = [
  { username: 'alice', email: fixtureUsers.alice, name: 'Alice', password: 'alice-password' },
  { username: 'bob', email: fixtureUsers.bob, name: 'Bob', password: 'bob-password' },
];

/** The resource's scopes, the smallest first: a 401 challenges for `gmail.readonly`. */
export const resourceScopes: readonly GmailScope[] = ['gmail.readonly', 'gmail.send'];

/** What each scope lets a client do, as the consent page words it. */
export const scopeDescriptions: Readonly<Record<string, string>> = {
  'gmail.readonly': 'Read your email and its labels',
  'gmail.send': 'Send email as you',
  offline_access: 'Stay connected while you are away (a refresh token)',
};

/**
 * The OAuth mode of the Gmail mock: its own authorization server in process, and the MCP
 * endpoint as a protected resource that only takes its access tokens.
 */
export interface GmailOAuthOptions {
  /**
   * The authorization server's issuer: an origin (`http://localhost:8931`), whose root serves
   * `/authorize`, `/token`, `/register`, `/revoke` and the metadata. It is what a browser opens,
   * so it must be reachable from one. HTTPS, or HTTP on localhost/127.0.0.1 (the MCP SDK's rule).
   */
  issuer: string;
  /**
   * The MCP endpoint's canonical URI (RFC 8707, RFC 9728 `resource`): `http://localhost:8931/mcp`.
   * Tokens are bound to it; its path gives the path-based metadata URL.
   */
  resource: string;
  /** Who can sign in. Default {@link demoUsers} (alice and bob). */
  users?: readonly GmailOAuthUser[];
  /** Lists the users as one-click buttons on the sign-in page, clearly labelled as demo users. Default true. */
  oneClickSignIn?: boolean;
  /** Access token lifetime. Default 10 minutes: short, so refresh is exercised. */
  accessTokenTtlMs?: number;
  /** Refresh token lifetime. Default 30 days. */
  refreshTokenTtlMs?: number;
  /** Authorization code lifetime. Default 60 seconds. */
  authorizationCodeTtlMs?: number;
  /**
   * Refresh tokens rotate: each use returns a new one, and presenting a used one again revokes
   * every token of its grant (it must have leaked). Within this interval after the rotation, the
   * same client presenting it again gets the new one back instead, as Okta's grace period and
   * Auth0's reuse interval allow for clients whose refreshes cross (the MCP SDK 1.32 client's
   * POST and GET stream can both see a 401 and refresh at once). Default 0: strict.
   */
  refreshTokenReuseIntervalMs?: number;
  /**
   * When a refresh token comes with the access token. `always` (the default): for every client
   * registered for the `refresh_token` grant, as OAuth 2.1 leaves it to the server and the MCP
   * specification says nothing more. `offline_access`: only when the client asked for the
   * `offline_access` scope (the OpenID Connect convention; the scope is then advertised).
   */
  refreshTokens?: 'always' | 'offline_access';
  /** Token endpoint authentication the server takes and advertises. Default all three. */
  tokenEndpointAuthMethods?: readonly TokenEndpointAuthMethod[];
  /** Dynamic client registration (RFC 7591) at `/register`. Default true. */
  dynamicClientRegistration?: boolean;
  /** Clients registered ahead (client id, secret, redirect URIs), for clients that do not register themselves. */
  clients?: readonly OAuthClientInformationFull[];
  /**
   * Serves the discovery documents (RFC 9728, RFC 8414). Default true; false imitates a server of
   * the 2025-03-26 revision: no metadata, the endpoints at their default paths.
   */
  metadata?: boolean;
  /** The MCP SDK's rate limits on the authorization server's endpoints. Default true. */
  rateLimit?: boolean;
}

/** {@link GmailOAuthOptions} for `startGmailServer`: issuer and resource default to the server's URL. */
export type GmailServerOAuthOptions = Omit<GmailOAuthOptions, 'issuer' | 'resource'> & {
  issuer?: string;
  resource?: string;
};

const userSchema = z.object({
  username: z.string().min(1).max(100),
  email: z.string().min(3),
  name: z.string().min(1).max(200),
  password: z.string().min(1),
});

const methodSchema = z.enum(['client_secret_basic', 'client_secret_post', 'none']);

const originSchema = z.url().refine((value) => {
  const url = new URL(value);
  return url.pathname === '/' && url.search === '' && url.hash === '';
}, 'must be an origin, with no path, query or fragment');

export const oauthOptionsSchema = z
  .object({
    issuer: originSchema,
    resource: z.url().refine((value) => new URL(value).hash === '', 'must not have a fragment'),
    users: z
      .array(userSchema)
      .min(1)
      .default([...demoUsers]),
    oneClickSignIn: z.boolean().default(true),
    accessTokenTtlMs: z
      .number()
      .int()
      .positive()
      .default(10 * 60_000),
    refreshTokenTtlMs: z
      .number()
      .int()
      .positive()
      .default(30 * 24 * 3_600_000),
    authorizationCodeTtlMs: z.number().int().positive().default(60_000),
    refreshTokenReuseIntervalMs: z.number().int().nonnegative().default(0),
    refreshTokens: z.enum(['always', 'offline_access']).default('always'),
    tokenEndpointAuthMethods: z
      .array(methodSchema)
      .min(1)
      .default(['client_secret_basic', 'client_secret_post', 'none']),
    dynamicClientRegistration: z.boolean().default(true),
    clients: z
      .array(
        z.looseObject({
          client_id: z.string().min(1),
          client_secret: z.string().min(1).optional(),
          redirect_uris: z.array(z.url()).min(1),
          token_endpoint_auth_method: methodSchema.optional(),
        }),
      )
      .default([]),
    metadata: z.boolean().default(true),
    rateLimit: z.boolean().default(true),
  })
  .strict()
  .refine(
    (options) => new Set(options.users.map((user) => user.username)).size === options.users.length,
    'usernames must be unique',
  );

/** The options with their defaults, checked. */
export interface ResolvedOAuthConfig
  extends Required<Omit<GmailOAuthOptions, 'clients' | 'users' | 'tokenEndpointAuthMethods'>> {
  readonly users: readonly GmailOAuthUser[];
  readonly tokenEndpointAuthMethods: readonly TokenEndpointAuthMethod[];
  readonly clients: readonly OAuthClientInformationFull[];
  /** The scopes the authorization server advertises (`offline_access` only when it matters). */
  readonly scopes: readonly string[];
}

/** Checks the options against the mailboxes there are; throws a readable error at start. */
export function resolveOAuthOptions(
  options: GmailOAuthOptions,
  mailboxes: readonly string[],
): ResolvedOAuthConfig {
  const parsed = oauthOptionsSchema.safeParse(options);
  if (!parsed.success) throw new Error(`Gmail mock OAuth: ${z.prettifyError(parsed.error)}`);
  const config = parsed.data;
  for (const user of config.users) {
    if (!mailboxes.includes(user.email))
      throw new Error(`Gmail mock OAuth: user ${user.username} has no mailbox (${user.email})`);
  }
  for (const client of config.clients) {
    const method = client.token_endpoint_auth_method ?? 'client_secret_basic';
    if ((method === 'none') !== (client.client_secret === undefined))
      throw new Error(
        `Gmail mock OAuth: client ${client.client_id} needs a secret unless its method is none`,
      );
  }
  return {
    ...config,
    // Issuer identifiers compare as strings (RFC 8414 §3.3): one spelling, no trailing slash.
    issuer: new URL(config.issuer).origin,
    // The canonical form has no trailing slash on a bare origin (MCP specification, "Canonical Server URI").
    resource: canonicalResource(config.resource),
    clients: config.clients as OAuthClientInformationFull[],
    scopes:
      config.refreshTokens === 'offline_access' ? [...resourceScopes, 'offline_access'] : resourceScopes,
  };
}

/** Scopes a client may ask for: the resource's, and `offline_access`, which is accepted in both modes. */
export const grantableScopes: readonly string[] = [...resourceScopes, 'offline_access'];

/** A resource URI as compared: lowercase scheme and host (URL does that), no fragment, no lone trailing slash. */
export function canonicalResource(value: string | URL): string {
  const url = new URL(value);
  url.hash = '';
  return url.pathname === '/' && url.search === '' ? url.origin : url.href.replace(/\/$/, '');
}
