import type { FetchLike } from '../service-auth.ts';
import { authRefused } from '../tool-errors.ts';
import { authorizationNeeded } from './authorization-needed.ts';
import { challengeOf } from './discovery.ts';
import type { ServerOAuth } from './server-oauth.ts';
import type { TokenKeeper } from './token-keeper.ts';
import type { TokenRecord } from './vault-records.ts';
import { scopeList } from './vault-records.ts';

/**
 * @internal The fetch of one user's MCP session (or a machine server's one session): every
 * request carries the user's access token, renewed ahead of expiry. A 401 renews it once and
 * sends the request again; a second 401, or a renewal the authorization server refuses, means the
 * user must authorize again. A 403 `insufficient_scope` asks the user for the scopes the server
 * named, on top of those granted (step-up); the registry limits how often one call may.
 */
export function createBearerFetch(
  target: ServerOAuth,
  keeper: TokenKeeper,
  userId: string,
  base: FetchLike,
): FetchLike {
  const send = (url: string | URL, init: RequestInit | undefined, record: TokenRecord) => {
    const headers = new Headers(init?.headers);
    headers.set('authorization', `Bearer ${record.tokens?.access_token ?? ''}`);
    return base(url, { ...init, headers });
  };
  return async (url, init) => {
    const signal = init?.signal ?? undefined;
    let record = await keeper.usable(userId, signal);
    let response = await send(url, init, record);
    if (response.status === 401) {
      const { resourceMetadataUrl, scope } = challengeOf(response);
      if (!keeper.machine) target.challenge = { resourceMetadataUrl, scope };
      await response.body?.cancel().catch(() => {});
      record = await keeper.renew(userId, record.tokens?.access_token ?? '', signal);
      response = await send(url, init, record);
      if (response.status === 401) {
        await response.body?.cancel().catch(() => {});
        if (keeper.machine)
          throw authRefused(target.server, 401, undefined, 'a fresh token was refused too', undefined);
        await keeper.expire(userId);
        throw authorizationNeeded(target.server, 'expired', target.challenge);
      }
    }
    if (response.status === 403 && !keeper.machine) {
      const challenge = challengeOf(response);
      if (challenge.error === 'insufficient_scope') {
        await response.body?.cancel().catch(() => {});
        const wanted = [...new Set([...record.scopes, ...scopeList(challenge.scope)])];
        throw authorizationNeeded(target.server, 'insufficient_scope', {
          resourceMetadataUrl: challenge.resourceMetadataUrl ?? target.challenge?.resourceMetadataUrl,
          scope: wanted.join(' '),
        });
      }
    }
    return response;
  };
}
