import { randomBytes } from 'node:crypto';
import {
  InvalidGrantError,
  InvalidScopeError,
  InvalidTargetError,
  InvalidTokenError,
} from '@modelcontextprotocol/sdk/server/auth/errors.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { OAuthClientInformationFull, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { mayRefresh } from './clients.ts';
import { canonicalResource, type GmailOAuthUser, type ResolvedOAuthConfig } from './options.ts';

/** What the user approved on the consent page, before the client redeems the code. */
export interface ApprovedAuthorization {
  readonly client: OAuthClientInformationFull;
  readonly user: GmailOAuthUser;
  readonly scopes: readonly string[];
  readonly resource: string;
  readonly codeChallenge: string;
  readonly redirectUri: string;
  /** Whether the authorization request named the redirect URI: then the token request must repeat it. */
  readonly explicitRedirect: boolean;
}

interface CodeRecord extends ApprovedAuthorization {
  readonly expiresAt: number;
  /** The grant the code was redeemed for: a second redemption revokes it (OAuth 2.1 §4.1.3). */
  grant?: Grant;
}

/** One approval's lineage: the tokens issued from one code and the refreshes after it. */
interface Grant {
  readonly clientId: string;
  readonly user: GmailOAuthUser;
  readonly scopes: readonly string[];
  readonly resource: string;
  readonly refreshable: boolean;
  revoked: boolean;
}

interface AccessRecord {
  readonly grant: Grant;
  readonly scopes: readonly string[];
  readonly expiresAt: number;
}

interface RefreshRecord {
  readonly grant: Grant;
  readonly expiresAt: number;
  /**
   * When it was rotated away, and the refresh token that replaced it. Presenting it again means
   * it leaked, so the whole grant is revoked; except within `refreshTokenReuseIntervalMs`, when
   * the same client gets its successor again (two refreshes of one client that crossed).
   */
  rotated?: { readonly at: number; readonly successor: string };
}

const secret = (prefix: string) => `${prefix}_${randomBytes(32).toString('base64url')}`;

/**
 * The authorization server's codes and tokens, in memory. Opaque tokens: the resource server
 * is in the same process and asks this store, so revocation takes effect at once.
 */
export function createGrantStore(config: ResolvedOAuthConfig, now: () => number) {
  const codes = new Map<string, CodeRecord>();
  const accessTokens = new Map<string, AccessRecord>();
  const refreshTokens = new Map<string, RefreshRecord>();
  let issued = 0;

  // Expired entries are dropped now and then, so a long-running demo does not grow without end.
  const prune = () => {
    issued += 1;
    if (issued % 100 !== 0) return;
    const at = now();
    for (const map of [codes, accessTokens, refreshTokens] as Map<string, { expiresAt: number }>[]) {
      for (const [key, record] of map) if (record.expiresAt <= at) map.delete(key);
    }
  };

  const revokeGrant = (grant: Grant) => {
    grant.revoked = true;
    for (const [token, record] of accessTokens) if (record.grant === grant) accessTokens.delete(token);
    for (const [token, record] of refreshTokens) if (record.grant === grant) refreshTokens.delete(token);
  };

  const issue = (grant: Grant, scopes: readonly string[], keepRefreshToken?: string): OAuthTokens => {
    prune();
    const accessToken = secret('gmat');
    accessTokens.set(accessToken, { grant, scopes, expiresAt: now() + config.accessTokenTtlMs });
    const tokens: OAuthTokens = {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: Math.floor(config.accessTokenTtlMs / 1000),
      scope: scopes.join(' '),
    };
    if (!grant.refreshable) return tokens;
    if (keepRefreshToken !== undefined) return { ...tokens, refresh_token: keepRefreshToken };
    const refreshToken = secret('gmrt');
    refreshTokens.set(refreshToken, { grant, expiresAt: now() + config.refreshTokenTtlMs });
    return { ...tokens, refresh_token: refreshToken };
  };

  // RFC 8707 §2: a resource named at the token endpoint must be one the grant covers.
  const checkResource = (resource: URL | undefined, granted: string) => {
    if (resource !== undefined && (resource.hash !== '' || canonicalResource(resource) !== granted))
      throw new InvalidTargetError(`the resource ${resource.href} is not the one authorized (${granted})`);
  };

  const liveCode = (client: OAuthClientInformationFull, code: string): CodeRecord => {
    const record = codes.get(code);
    if (record === undefined || record.client.client_id !== client.client_id || record.expiresAt <= now())
      throw new InvalidGrantError(
        'the authorization code is invalid, expired or was issued to another client',
      );
    if (record.grant !== undefined) {
      revokeGrant(record.grant);
      throw new InvalidGrantError(
        'the authorization code was already used: the tokens issued for it are revoked',
      );
    }
    return record;
  };

  return {
    /** Stores the user's approval and returns the authorization code for it. */
    createCode(approval: ApprovedAuthorization): string {
      prune();
      const code = secret('gmac');
      codes.set(code, { ...approval, expiresAt: now() + config.authorizationCodeTtlMs });
      return code;
    },

    challengeFor(client: OAuthClientInformationFull, code: string): string {
      return liveCode(client, code).codeChallenge;
    },

    /** The authorization code grant; the MCP SDK checked the PKCE verifier just before. */
    redeemCode(
      client: OAuthClientInformationFull,
      code: string,
      redirectUri: string | undefined,
      resource: URL | undefined,
    ): OAuthTokens {
      const record = liveCode(client, code);
      if (redirectUri === undefined ? record.explicitRedirect : redirectUri !== record.redirectUri)
        throw new InvalidGrantError('redirect_uri must be the one of the authorization request');
      checkResource(resource, record.resource);
      const grant: Grant = {
        clientId: client.client_id,
        user: record.user,
        scopes: record.scopes,
        resource: record.resource,
        refreshable:
          mayRefresh(client) &&
          (config.refreshTokens === 'always' || record.scopes.includes('offline_access')),
        revoked: false,
      };
      record.grant = grant;
      return issue(grant, grant.scopes);
    },

    /** The refresh token grant, with rotation: the presented refresh token is spent. */
    refresh(
      client: OAuthClientInformationFull,
      refreshToken: string,
      scopes: readonly string[] | undefined,
      resource: URL | undefined,
    ): OAuthTokens {
      const record = refreshTokens.get(refreshToken);
      if (record === undefined || record.grant.clientId !== client.client_id)
        throw new InvalidGrantError('the refresh token is invalid or was issued to another client');
      if (record.expiresAt <= now() || record.grant.revoked)
        throw new InvalidGrantError('the refresh token has expired or was revoked');
      const { rotated } = record;
      const crossed =
        rotated !== undefined &&
        now() - rotated.at < config.refreshTokenReuseIntervalMs &&
        refreshTokens.get(rotated.successor)?.rotated === undefined;
      if (rotated !== undefined && !crossed) {
        revokeGrant(record.grant);
        throw new InvalidGrantError(
          'the refresh token was already used: every token of its grant is revoked',
        );
      }
      checkResource(resource, record.grant.resource);
      const narrowed = scopes ?? record.grant.scopes;
      const extra = narrowed.find((scope) => !record.grant.scopes.includes(scope));
      if (extra !== undefined)
        throw new InvalidScopeError(`the scope ${extra} was not granted: authorize again to add it`);
      if (rotated !== undefined) return issue(record.grant, narrowed, rotated.successor);
      const tokens = issue(record.grant, narrowed);
      record.rotated = { at: now(), successor: tokens.refresh_token ?? '' };
      return tokens;
    },

    verify(token: string): AuthInfo {
      const record = accessTokens.get(token);
      if (record === undefined || record.grant.revoked)
        throw new InvalidTokenError('The access token is unknown or was revoked');
      if (record.expiresAt <= now()) throw new InvalidTokenError('The access token has expired');
      return {
        token,
        clientId: record.grant.clientId,
        scopes: [...record.scopes],
        expiresAt: Math.floor(record.expiresAt / 1000),
        resource: new URL(record.grant.resource),
        extra: { mailbox: record.grant.user.email, username: record.grant.user.username },
      };
    },

    /**
     * RFC 7009: a refresh token takes its grant's access tokens with it; an access token goes
     * alone. Unknown tokens and other clients' tokens are left alone, and the answer is the same.
     */
    revoke(client: OAuthClientInformationFull, token: string): void {
      const refresh = refreshTokens.get(token);
      if (refresh !== undefined && refresh.grant.clientId === client.client_id) revokeGrant(refresh.grant);
      const access = accessTokens.get(token);
      if (access !== undefined && access.grant.clientId === client.client_id) accessTokens.delete(token);
    },
  };
}

export type GrantStore = ReturnType<typeof createGrantStore>;
