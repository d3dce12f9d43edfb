import { auth } from '@modelcontextprotocol/sdk/client/auth.js';
import { StewardError } from '@steward/core';
import { z } from 'zod';
import { oauthCode } from './authorization-flow.ts';
import { discover, resourceOf } from './discovery.ts';
import type { ServerOAuth } from './server-oauth.ts';
import { readTokens, VaultOAuthProvider } from './vault-oauth-provider.ts';
import type { TokenRecord } from './vault-records.ts';

/** The token types and grants of enterprise-managed authorization (identity assertion grants). */
const tokenExchangeGrant = 'urn:ietf:params:oauth:grant-type:token-exchange';
const idJagType = 'urn:ietf:params:oauth:token-type:id-jag';
const jwtBearerGrant = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

const exchangeResponseSchema = z.object({
  access_token: z.string().min(1),
  issued_token_type: z.literal(idJagType),
});

const unavailable = (target: ServerOAuth, message: string, cause?: unknown) =>
  new StewardError('tool_unavailable', `${target.server}: ${message}`, {
    retryable: false,
    cause,
    details: {
      server: target.server,
      ...(oauthCode(cause) === undefined ? {} : { error: oauthCode(cause) }),
    },
  });

/**
 * @internal Exchanges the user's identity assertion at their IdP for an identity assertion
 * authorization grant (ID-JAG) for the server's authorization server (RFC 8693, the MCP
 * enterprise-managed authorization extension), audience its issuer and resource the server.
 */
async function identityAssertionGrant(
  target: ServerOAuth,
  userId: string,
  signal?: AbortSignal,
): Promise<string> {
  const settings = target.auth;
  if (settings.type !== 'token_exchange') throw new Error('not a token exchange server');
  const subjectToken = await settings.subjectToken({
    userId,
    server: target.server,
    signal: signal ?? new AbortController().signal,
  });
  if (subjectToken === undefined)
    throw unavailable(target, `no identity assertion to exchange for user ${userId.slice(0, 64)}`);
  const discovery = await discover(target);
  const provider = new VaultOAuthProvider(target, userId, {
    kind: 'machine',
    grant: new URLSearchParams(),
    scopes: [],
  });
  const resource = await resourceOf(target, provider, discovery);
  const body = new URLSearchParams({
    grant_type: tokenExchangeGrant,
    requested_token_type: idJagType,
    subject_token: subjectToken,
    subject_token_type: settings.subjectTokenType,
    audience: discovery.authorizationServerMetadata?.issuer ?? discovery.authorizationServerUrl,
    ...(resource === undefined ? {} : { resource }),
    ...(settings.scopes === undefined ? {} : { scope: settings.scopes.join(' ') }),
  });
  const { clientId, clientSecret } = settings.identityProvider;
  const headers = new Headers({
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  });
  if (clientSecret === undefined) body.set('client_id', clientId);
  else
    headers.set(
      'authorization',
      `Basic ${btoa(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`)}`,
    );
  const response = await target.fetch(settings.identityProvider.tokenEndpoint, {
    method: 'POST',
    headers,
    body,
    ...(signal === undefined ? {} : { signal }),
  });
  const parsed = exchangeResponseSchema.safeParse(await response.json().catch(() => undefined));
  if (!response.ok || !parsed.success)
    throw unavailable(target, `the identity provider refused the token exchange (HTTP ${response.status})`);
  return parsed.data.access_token;
}

/**
 * @internal A new machine token through the SDK's `auth()` in its non-interactive form: client
 * credentials (a client secret, or `private_key_jwt` with the SDK's assertion signer), or, for
 * token exchange, the JWT bearer grant with the user's ID-JAG. Saved in the vault under `userId`
 * (`*` for a server's shared token).
 */
export async function fetchMachineToken(
  target: ServerOAuth,
  userId: string,
  signal?: AbortSignal,
): Promise<TokenRecord> {
  const settings = target.auth;
  const scopes = settings.scopes ?? [];
  const grant =
    settings.type === 'token_exchange'
      ? new URLSearchParams({
          grant_type: jwtBearerGrant,
          assertion: await identityAssertionGrant(target, userId, signal),
        })
      : new URLSearchParams({ grant_type: 'client_credentials' });
  if (scopes.length > 0) grant.set('scope', scopes.join(' '));
  const { privateKey } = await target.secret();
  const provider = new VaultOAuthProvider(target, userId, { kind: 'machine', grant, scopes }, privateKey);
  try {
    await discover(target);
    await auth(provider, { serverUrl: target.serverUrl, fetchFn: target.fetch });
  } catch (error) {
    if (StewardError.isInstance(error)) throw error;
    throw unavailable(target, 'the authorization server refused the token request', error);
  }
  const record = await readTokens(target, userId);
  if (record?.tokens === undefined) throw unavailable(target, 'no token was issued');
  return record;
}
