import type { TokenVault } from '@steward/core';
import { z } from 'zod';

/** One OAuth scope token (RFC 6749 §3.3): printable ASCII but space, `"` and `\`. */
const scopeToken = z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'must be one OAuth scope token');
const scopes = z.array(scopeToken).readonly().optional();

/** @internal The per-user authorization code flow. */
export const oauthAuthSchema = z
  .object({
    type: z.literal('oauth'),
    clientId: z.string().min(1).optional(),
    clientSecret: z.string().min(1).optional(),
    tokenEndpointAuthMethod: z.enum(['client_secret_basic', 'client_secret_post', 'none']).optional(),
    scopes,
    whenDisconnected: z.enum(['connect', 'hide']).default('connect'),
  })
  .strict()
  .refine((auth) => auth.clientSecret === undefined || auth.clientId !== undefined, {
    path: ['clientSecret'],
    message: 'needs clientId: a secret belongs to a pre-registered client',
  });

const clientCredentialsFields = z
  .object({
    type: z.literal('client_credentials'),
    clientId: z.string().min(1),
    clientSecret: z.string().min(1).optional(),
    /** PKCS#8 PEM or a JWK: the client authenticates with `private_key_jwt` (RFC 7523). */
    privateKey: z.union([z.string().min(1), z.record(z.string(), z.unknown())]).optional(),
    algorithm: z.string().min(1).default('RS256'),
    scopes,
  })
  .strict();

/** @internal Machine to machine: one token for the server, every user's calls share it. */
export const clientCredentialsAuthSchema = clientCredentialsFields.refine(
  (auth) => (auth.clientSecret === undefined) !== (auth.privateKey === undefined),
  { path: ['clientSecret'], message: 'give exactly one of clientSecret and privateKey' },
);

/** @internal Where the user's identity assertion for a token exchange comes from. */
export type SubjectTokenSource = (request: {
  readonly userId: string;
  readonly server: string;
  readonly signal: AbortSignal;
}) => Promise<string | undefined>;

/** @internal Enterprise-managed authorization: the user's IdP token is exchanged, no browser. */
export const tokenExchangeAuthSchema = z
  .object({
    type: z.literal('token_exchange'),
    /** The client at the MCP server's authorization server. */
    clientId: z.string().min(1),
    clientSecret: z.string().min(1).optional(),
    scopes,
    identityProvider: z
      .object({
        tokenEndpoint: z.url({ protocol: /^https?$/ }),
        clientId: z.string().min(1),
        clientSecret: z.string().min(1).optional(),
      })
      .strict(),
    subjectToken: z.custom<SubjectTokenSource>((value) => typeof value === 'function', 'must be a function'),
    subjectTokenType: z.string().min(1).default('urn:ietf:params:oauth:token-type:id_token'),
  })
  .strict();

/** @internal Every auth a network server may have. */
export const serverAuthSchema = z.discriminatedUnion('type', [
  oauthAuthSchema,
  clientCredentialsAuthSchema,
  tokenExchangeAuthSchema,
]);

/**
 * @internal What a registration (plain, stored data) may ask for: no functions. Its secret
 * goes to the vault at `register()`, so a stored row has none (`register()` checks it was given).
 */
export const registrationAuthSchema = z.discriminatedUnion('type', [
  oauthAuthSchema,
  clientCredentialsFields,
]);

/** @internal */
export type ResolvedServerAuth = z.output<typeof serverAuthSchema>;
/** @internal */
export type ResolvedOAuthAuth = z.output<typeof oauthAuthSchema>;

/**
 * OAuth for an MCP server, per the MCP specification's authorization section.
 *
 * - `oauth`: each user connects their own account (authorization code with PKCE). The server's
 *   tools need the user's token: one MCP session per user. Client identity: `clientId` (and
 *   `clientSecret`) when pre-registered, else the registry's `clientMetadataUrl` when the
 *   authorization server supports Client ID Metadata Documents, else dynamic registration.
 *   `scopes` replaces what the server's challenge asks for. `whenDisconnected`: `connect` (the
 *   default) offers the server's tools (or a `<server>__connect` tool) to users who have not
 *   connected, and a call asks them to; `hide` offers them nothing.
 * - `client_credentials`: machine to machine, one token for the server, with a client secret or
 *   a private key (`private_key_jwt`, PKCS#8 PEM or JWK, `algorithm` default RS256).
 * - `token_exchange`: enterprise-managed authorization (cross-app access): the user's identity
 *   assertion (`subjectToken`, e.g. their ID token from the company IdP) is exchanged at the IdP
 *   for an identity assertion grant (RFC 8693), which the server's authorization server turns into
 *   an access token (RFC 7523 JWT bearer). No browser. Operator configuration only.
 */
export type McpServerAuth =
  | {
      type: 'oauth';
      clientId?: string;
      clientSecret?: string;
      tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post' | 'none';
      scopes?: readonly string[];
      whenDisconnected?: 'connect' | 'hide';
    }
  | {
      type: 'client_credentials';
      clientId: string;
      clientSecret?: string;
      privateKey?: string | Record<string, unknown>;
      algorithm?: string;
      scopes?: readonly string[];
    }
  | {
      type: 'token_exchange';
      clientId: string;
      clientSecret?: string;
      scopes?: readonly string[];
      identityProvider: { tokenEndpoint: string; clientId: string; clientSecret?: string };
      /** The user's assertion to exchange; undefined when there is none (the call fails). */
      subjectToken: (request: {
        userId: string;
        server: string;
        signal: AbortSignal;
      }) => Promise<string | undefined>;
      /** Default `urn:ietf:params:oauth:token-type:id_token`. */
      subjectTokenType?: string;
    };

const _auth: (value: McpServerAuth) => z.input<typeof serverAuthSchema> = (value) => value;
void _auth;

/** The registry's OAuth client settings (`createMcpRegistry({ oauth })`). */
export interface McpOAuthOptions {
  /** Keeps tokens, client registrations and pending authorizations, encrypted. */
  vault: TokenVault;
  /** The host's OAuth callback, e.g. `https://app.example/api/v1/oauth/callback`. */
  redirectUrl: string;
  /** The name authorization servers show on their consent page. Default: `clientInfo.name`. */
  clientName?: string;
  /**
   * An HTTPS URL serving this client's metadata document (Client ID Metadata Documents), used as
   * the client id where the authorization server supports them, before dynamic registration.
   */
  clientMetadataUrl?: string;
  /** How long a started authorization may be completed. Default 600,000 ms. */
  authorizationTtlMs?: number;
  /** Refresh an access token this long before it expires. Default 60,000 ms. */
  refreshBeforeExpiryMs?: number;
  /** How many times one call may ask the user for more scopes. Default 2. */
  maxStepUps?: number;
}

/** @internal */
export const oauthOptionsSchema = z
  .object({
    vault: z.custom<TokenVault>(
      (value) =>
        typeof (value as TokenVault | null)?.get === 'function' &&
        typeof (value as TokenVault).put === 'function',
      'must be a TokenVault (createTokenVault)',
    ),
    redirectUrl: z.url({ protocol: /^https?$/ }),
    clientName: z.string().min(1).optional(),
    clientMetadataUrl: z.url({ protocol: /^https$/, error: 'must be an https:// URL' }).optional(),
    authorizationTtlMs: z.number().int().positive().default(600_000),
    refreshBeforeExpiryMs: z.number().int().nonnegative().default(60_000),
    maxStepUps: z.number().int().nonnegative().default(2),
  })
  .strict();

/** @internal */
export type ResolvedOAuthOptions = z.output<typeof oauthOptionsSchema>;
