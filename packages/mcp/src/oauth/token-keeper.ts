import { refreshAuthorization } from '@modelcontextprotocol/sdk/client/auth.js';
import { OAuthError, ServerError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { StewardError } from '@steward/core';
import { oauthCode } from './authorization-flow.ts';
import { authorizationNeeded } from './authorization-needed.ts';
import { discover, resourceOf } from './discovery.ts';
import { fetchMachineToken } from './machine-token.ts';
import type { ServerOAuth } from './server-oauth.ts';
import { readTokens, saveTokenRecord, tokensRef, VaultOAuthProvider } from './vault-oauth-provider.ts';
import type { TokenRecord } from './vault-records.ts';

/**
 * @internal Hands out a usable access token for a user of one server: refreshed shortly before it
 * expires and when the server answers 401, one refresh at a time per user (with rotating refresh
 * tokens, two at once would revoke the grant). A refresh the authorization server refuses
 * leaves the connection `expired`: the user is asked again. Machine servers fetch a new token
 * instead of refreshing.
 */
export class TokenKeeper {
  readonly #target: ServerOAuth;
  readonly #renewing = new Map<string, Promise<TokenRecord>>();

  constructor(target: ServerOAuth) {
    this.#target = target;
  }

  get machine(): boolean {
    return this.#target.auth.type !== 'oauth';
  }

  /** The user's token, renewed first when it expires within `refreshBeforeExpiryMs`. */
  async usable(userId: string, signal?: AbortSignal): Promise<TokenRecord> {
    const record = await readTokens(this.#target, userId);
    if (record?.tokens === undefined) {
      if (this.machine) return this.#renew(userId, undefined, signal);
      throw authorizationNeeded(
        this.#target.server,
        record === undefined ? 'not_connected' : 'expired',
        this.#target.challenge,
      );
    }
    const { expiresAt } = record;
    if (
      expiresAt !== undefined &&
      expiresAt - this.#target.settings.refreshBeforeExpiryMs <= this.#target.now()
    )
      return this.#renew(userId, record.tokens.access_token, signal);
    return record;
  }

  /** A token other than `failed` (the one the server refused), renewing it if nobody did yet. */
  renew(userId: string, failed: string, signal?: AbortSignal): Promise<TokenRecord> {
    return this.#renew(userId, failed, signal);
  }

  /** Forgets the user's access and refresh tokens; the connection shows as `expired`. */
  async expire(userId: string): Promise<void> {
    const record = await readTokens(this.#target, userId);
    if (record === undefined) return;
    const { tokens: _dropped, expiresAt: _expired, ...rest } = record;
    await this.#target.vault.put(tokensRef(this.#target.server, userId), { ...rest });
  }

  #renew(userId: string, failed: string | undefined, signal?: AbortSignal): Promise<TokenRecord> {
    const running = this.#renewing.get(userId);
    if (running !== undefined) return running;
    const renewal = (async () => {
      // Another instance (or call) may have renewed it meanwhile: its token is used as it is.
      const current = await readTokens(this.#target, userId);
      const fresh = current?.tokens;
      if (fresh !== undefined && fresh.access_token !== failed && !this.#expiring(current))
        return current as TokenRecord;
      if (this.machine) return fetchMachineToken(this.#target, userId, signal);
      return this.#refresh(userId, current);
    })().finally(() => this.#renewing.delete(userId));
    this.#renewing.set(userId, renewal);
    return renewal;
  }

  #expiring(record: TokenRecord | undefined): boolean {
    const expiresAt = record?.expiresAt;
    return (
      expiresAt !== undefined && expiresAt - this.#target.settings.refreshBeforeExpiryMs <= this.#target.now()
    );
  }

  async #refresh(userId: string, record: TokenRecord | undefined): Promise<TokenRecord> {
    const target = this.#target;
    const refreshToken = record?.tokens?.refresh_token;
    if (record === undefined || refreshToken === undefined) {
      if (record !== undefined) await this.expire(userId);
      throw authorizationNeeded(
        target.server,
        record === undefined ? 'not_connected' : 'expired',
        target.challenge,
      );
    }
    const discovery = await discover(target);
    const provider = new VaultOAuthProvider(target, userId, {
      kind: 'exchange',
      codeVerifier: '',
      scopes: record.scopes,
    });
    const clientInformation = await provider.clientInformation();
    if (clientInformation === undefined) {
      await this.expire(userId);
      throw authorizationNeeded(target.server, 'expired', target.challenge);
    }
    try {
      const resource = await resourceOf(target, provider, discovery);
      const tokens = await refreshAuthorization(discovery.authorizationServerUrl, {
        ...(discovery.authorizationServerMetadata === undefined
          ? {}
          : { metadata: discovery.authorizationServerMetadata }),
        clientInformation,
        refreshToken,
        ...(resource === undefined ? {} : { resource: new URL(resource) }),
        ...(provider.addClientAuthentication === undefined
          ? {}
          : { addClientAuthentication: provider.addClientAuthentication }),
        fetchFn: target.fetch,
      });
      return await saveTokenRecord(
        target,
        userId,
        { ...tokens, issuer: discovery.authorizationServerUrl },
        record.scopes,
        record,
        record.stepUp,
      );
    } catch (error) {
      // The authorization server said no (invalid_grant: revoked, expired, rotated away): the
      // user must authorize again. Anything else (unreachable, 5xx) may pass: the call fails.
      if (error instanceof OAuthError && !(error instanceof ServerError)) {
        await this.expire(userId);
        throw authorizationNeeded(target.server, 'expired', target.challenge);
      }
      throw new StewardError('tool_unavailable', `${target.server}: refreshing the access token failed`, {
        cause: error,
        details: {
          server: target.server,
          ...(oauthCode(error) === undefined ? {} : { error: oauthCode(error) }),
        },
      });
    }
  }
}
