import { createHash } from 'node:crypto';
import * as client from 'openid-client';
import { z } from 'zod';

/** How the host signs people in with an OpenID Connect provider (Google, Entra, Auth0, Keycloak, the demo's). */
export interface OidcOptions {
  /** The issuer URL; its `/.well-known/openid-configuration` is read on first use. */
  readonly issuer: string;
  readonly clientId: string;
  /** A confidential client's secret (`client_secret_basic`); without it the client is public (PKCE only). */
  readonly clientSecret?: string;
  /**
   * The callback URLs registered with the provider (`…/auth/callback`). The one on the origin a
   * request came in on is used, so `localhost` and `127.0.0.1` both work; else the first.
   */
  readonly redirectUris: readonly string[];
  /** Default `openid profile email offline_access`. */
  readonly scopes?: string;
  /** Extra authorization request parameters, e.g. Google's `{ access_type: 'offline', prompt: 'consent' }`. */
  readonly authorizationParams?: Readonly<Record<string, string>>;
  /** The claim holding the user's roles (an array or a space-separated string). Default `roles`. */
  readonly rolesClaim?: string;
  /** Users (by email or subject) who get the `admin` role whatever the provider says. */
  readonly adminUsers?: readonly string[];
  /** The provider's name on the sign-in button. Default: the issuer's host. */
  readonly providerName?: string;
  /** Let openid-client talk to an `http:` issuer (the demo's local provider). Default: only for loopback issuers. */
  readonly allowHttp?: boolean;
}

/** What a sign-in started, kept in the server-side session until the callback. */
export interface PendingSignIn {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  readonly redirectUri: string;
  readonly startedAt: number;
}

/** Who signed in, as the provider vouched. */
export interface VerifiedIdentity {
  readonly issuer: string;
  readonly subject: string;
  readonly name: string;
  readonly email?: string;
  readonly roles: readonly string[];
  /** Kept server-side only (see `RefreshTokenStore`); absent when the provider gave none. */
  readonly refreshToken?: string;
  /** For RP-initiated logout's `id_token_hint`. */
  readonly idToken?: string;
}

/** OpenID Connect sign-in over openid-client: authorization code with PKCE (S256), state and nonce. */
export interface OidcSignIn {
  readonly providerName: string;
  /**
   * Origins the pages' forms lead to (the authorization and end-session endpoints): the sign-in
   * and sign-out forms redirect there, which the pages' `form-action` must allow.
   */
  formOrigins(): readonly string[];
  /** The authorization URL to send the browser to, and what to keep until the callback. */
  start(origin: string): Promise<{ url: URL; pending: PendingSignIn }>;
  /** Checks the callback (state, PKCE, nonce, ID token) and reads who signed in. */
  finish(callbackUrl: URL, pending: PendingSignIn): Promise<VerifiedIdentity>;
  /** The provider's end-session URL (RP-initiated logout), when it has one. */
  logoutUrl(options: { idToken?: string; postLogoutRedirectUri: string }): Promise<URL | undefined>;
}

const claimsSchema = z
  .object({
    sub: z.string().min(1),
    name: z.string().optional(),
    preferred_username: z.string().optional(),
    email: z.string().optional(),
  })
  .loose();

/** A stable Steward user id for a provider's subject: the same person always gets the same id, and two issuers never collide. */
export function userIdOf(issuer: string, subject: string): string {
  return `u-${createHash('sha256').update(`${issuer}\n${subject}`).digest('base64url').slice(0, 22)}`;
}

function rolesOf(claims: Record<string, unknown>, claim: string): string[] {
  const value = claims[claim];
  if (Array.isArray(value)) return value.filter((role): role is string => typeof role === 'string');
  return typeof value === 'string' ? value.split(/\s+/).filter((role) => role !== '') : [];
}

const isLoopback = (url: string) => /^http:\/\/(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?(\/|$)/.test(url);

/** Creates the sign-in; discovery happens on first use and is retried after a failure. */
export function createOidcSignIn(options: OidcOptions): OidcSignIn {
  const scopes = options.scopes ?? 'openid profile email offline_access';
  const rolesClaim = options.rolesClaim ?? 'roles';
  const admins = new Set(options.adminUsers ?? []);
  let configuration: Promise<client.Configuration> | undefined;
  const configured = () => {
    configuration ??= client
      .discovery(
        new URL(options.issuer),
        options.clientId,
        options.clientSecret,
        options.clientSecret === undefined ? client.None() : client.ClientSecretBasic(options.clientSecret),
        (options.allowHttp ?? isLoopback(options.issuer)) ? { execute: [client.allowInsecureRequests] } : {},
      )
      .then(remember)
      .catch((error: unknown) => {
        configuration = undefined;
        throw error;
      });
    return configuration;
  };
  const origins = new Set([new URL(options.issuer).origin]);
  const remember = (config: client.Configuration) => {
    const metadata = config.serverMetadata();
    for (const endpoint of [metadata.authorization_endpoint, metadata.end_session_endpoint])
      if (endpoint !== undefined) origins.add(new URL(endpoint).origin);
    return config;
  };
  const redirectFor = (origin: string) =>
    options.redirectUris.find((uri) => new URL(uri).origin === origin) ?? (options.redirectUris[0] as string);

  return {
    providerName: options.providerName ?? new URL(options.issuer).host,
    formOrigins: () => [...origins],
    async start(origin) {
      const config = await configured();
      const pending: PendingSignIn = {
        state: client.randomState(),
        nonce: client.randomNonce(),
        codeVerifier: client.randomPKCECodeVerifier(),
        redirectUri: redirectFor(origin),
        startedAt: Date.now(),
      };
      const url = client.buildAuthorizationUrl(config, {
        ...options.authorizationParams,
        redirect_uri: pending.redirectUri,
        scope: scopes,
        state: pending.state,
        nonce: pending.nonce,
        code_challenge: await client.calculatePKCECodeChallenge(pending.codeVerifier),
        code_challenge_method: 'S256',
      });
      return { url, pending };
    },
    async finish(callbackUrl, pending) {
      const config = await configured();
      const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
      const idClaims = claimsSchema.parse(tokens.claims());
      // Some providers put profile claims only in userinfo.
      let claims: Record<string, unknown> = idClaims;
      if (
        (idClaims.name === undefined || idClaims.email === undefined) &&
        config.serverMetadata().userinfo_endpoint
      )
        claims = { ...(await client.fetchUserInfo(config, tokens.access_token, idClaims.sub)), ...idClaims };
      const parsed = claimsSchema.parse(claims);
      const roles = new Set(rolesOf(claims, rolesClaim));
      if (admins.has(parsed.sub) || (parsed.email !== undefined && admins.has(parsed.email)))
        roles.add('admin');
      return {
        issuer: config.serverMetadata().issuer,
        subject: parsed.sub,
        name: parsed.name ?? parsed.preferred_username ?? parsed.email ?? parsed.sub,
        ...(parsed.email === undefined ? {} : { email: parsed.email }),
        roles: [...roles],
        ...(tokens.refresh_token === undefined ? {} : { refreshToken: tokens.refresh_token }),
        ...(tokens.id_token === undefined ? {} : { idToken: tokens.id_token }),
      };
    },
    async logoutUrl({ idToken, postLogoutRedirectUri }) {
      const config = await configured();
      if (config.serverMetadata().end_session_endpoint === undefined) return undefined;
      return client.buildEndSessionUrl(config, {
        post_logout_redirect_uri: postLogoutRedirectUri,
        client_id: options.clientId,
        ...(idToken === undefined ? {} : { id_token_hint: idToken }),
      });
    },
  };
}
