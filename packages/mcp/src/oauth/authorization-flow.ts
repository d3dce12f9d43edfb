import { randomBytes } from 'node:crypto';
import { auth, fetchToken, registerClient } from '@modelcontextprotocol/sdk/client/auth.js';
import { OAuthError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { StewardError } from '@steward/core';
import type { Challenge } from './authorization-needed.ts';
import { authorizationServerError, discover, probeChallenge, resourceOf } from './discovery.ts';
import type { ServerOAuth } from './server-oauth.ts';
import { readTokens, saveTokenRecord, VaultOAuthProvider } from './vault-oauth-provider.ts';
import {
  type PendingRecord,
  pendingRecordSchema,
  readRecord,
  scopeList,
  sharedOwner,
  vaultKinds,
  writeRecord,
} from './vault-records.ts';

/** What `beginAuthorization` gives back: the URL for the user, and its single-use state. */
export interface McpAuthorizationStart {
  readonly server: string;
  readonly authorizationUrl: string;
  readonly state: string;
  /** ISO 8601: after it, completing fails with `expired`. */
  readonly expiresAt: string;
  /** What the user is asked to grant (empty: the server's defaults). */
  readonly scopes: readonly string[];
}

/** What `completeAuthorization` resolves with: whose authorization it was, bound at its start. */
export interface McpAuthorizationResult {
  readonly server: string;
  readonly userId: string;
  readonly runId?: string;
  readonly callId?: string;
  readonly scopes: readonly string[];
}

/** @internal */
export interface BeginRequest {
  readonly userId: string;
  readonly runId?: string | undefined;
  readonly callId?: string | undefined;
  readonly scopes?: readonly string[] | undefined;
  /** The challenge that made the call need it, when one did. */
  readonly challenge?: Challenge | undefined;
  /** How many step-ups this call asked for before, this one included. */
  readonly stepUps?: number | undefined;
}

const pendingRef = (state: string) => ({ userId: sharedOwner, kind: vaultKinds.pending, name: state });

/**
 * The scopes to ask for: the caller's, else the operator's, else the server's challenge, else its
 * resource metadata's `scopes_supported`, else none (the scope parameter is left out), per the
 * specification's scope selection; `offline_access` is added only when the authorization server
 * lists it, for a refresh token.
 */
function chooseScopes(
  target: ServerOAuth,
  request: BeginRequest,
  challenge: Challenge,
  supported: { resource?: readonly string[] | undefined; server?: readonly string[] | undefined },
): string[] {
  const configured = target.auth.scopes;
  const chosen =
    request.scopes ??
    configured ??
    (challenge.scope === undefined ? undefined : scopeList(challenge.scope)) ??
    supported.resource ??
    [];
  const scopes = [...new Set(chosen)];
  if (scopes.length > 0 && supported.server?.includes('offline_access') && !scopes.includes('offline_access'))
    scopes.push('offline_access');
  return scopes;
}

/**
 * @internal Starts an authorization for one user: discovery, the client's identity (the SDK's
 * order: pre-registered, then a Client ID Metadata Document where supported, then dynamic
 * registration), and the authorization URL with PKCE (S256), `state` and `resource`. The PKCE
 * verifier and who it is for are stored under the state in the vault, so any instance completes it.
 */
export async function beginAuthorization(
  target: ServerOAuth,
  request: BeginRequest,
): Promise<McpAuthorizationStart> {
  // A challenge that says nothing (no token was sent, so the server was not asked) is asked for.
  const given = request.challenge;
  const said = given?.resourceMetadataUrl !== undefined || given?.scope !== undefined;
  const challenge =
    (said ? given : undefined) ?? target.challenge ?? (await probeChallenge(target, target.clientName));
  const discovery = await discover(target, challenge.resourceMetadataUrl);
  const scopes = chooseScopes(target, request, challenge, {
    resource: discovery.resourceMetadata?.scopes_supported,
    server: discovery.authorizationServerMetadata?.scopes_supported,
  });
  const state = randomBytes(32).toString('base64url');
  const provider = new VaultOAuthProvider(target, request.userId, { kind: 'begin', state, scopes });
  await registerForEveryScope(target, provider, scopes);
  let result: string;
  try {
    result = await auth(provider, {
      serverUrl: target.serverUrl,
      ...(scopes.length === 0 ? {} : { scope: scopes.join(' ') }),
      ...(challenge.resourceMetadataUrl === undefined
        ? {}
        : { resourceMetadataUrl: new URL(challenge.resourceMetadataUrl) }),
      fetchFn: target.fetch,
    });
  } catch (error) {
    throw authorizationServerError(
      target.server,
      'authorization_server_error',
      'starting the authorization failed',
      error,
      oauthCode(error),
    );
  }
  const authorizationUrl = provider.authorizationUrl;
  const codeVerifier = provider.createdVerifier;
  if (result !== 'REDIRECT' || authorizationUrl === undefined || codeVerifier === undefined)
    throw new StewardError('internal_error', `${target.server}: the authorization did not produce a URL`);
  const expiresAt = target.now() + target.settings.authorizationTtlMs;
  const pending: PendingRecord = {
    server: target.server,
    userId: request.userId,
    ...(request.runId === undefined ? {} : { runId: request.runId }),
    ...(request.callId === undefined ? {} : { callId: request.callId }),
    scopes,
    codeVerifier,
    expiresAt,
    ...(challenge.resourceMetadataUrl === undefined
      ? {}
      : { resourceMetadataUrl: challenge.resourceMetadataUrl }),
    stepUps: request.stepUps ?? 0,
  };
  await writeRecord(target.vault, pendingRef(state), pending);
  return {
    server: target.server,
    authorizationUrl: authorizationUrl.href,
    state,
    expiresAt: new Date(expiresAt).toISOString(),
    scopes,
  };
}

/**
 * A client registered dynamically asks for every scope the server lists (and those requested):
 * one registration serves every user, and an authorization server may refuse a later request
 * (a step-up) for a scope the registration did not name. Left to the SDK when a client id exists,
 * a Client ID Metadata Document applies, or the server has no metadata.
 */
async function registerForEveryScope(
  target: ServerOAuth,
  provider: VaultOAuthProvider,
  scopes: readonly string[],
) {
  const discovery = target.discovery;
  const metadata = discovery?.authorizationServerMetadata;
  if (discovery === undefined || metadata?.registration_endpoint === undefined) return;
  if ((await provider.clientInformation()) !== undefined) return;
  if (metadata.client_id_metadata_document_supported === true && provider.clientMetadataUrl !== undefined)
    return;
  const every = [...new Set([...(discovery.resourceMetadata?.scopes_supported ?? []), ...scopes])];
  if (
    every.length > 0 &&
    metadata.scopes_supported?.includes('offline_access') &&
    !every.includes('offline_access')
  )
    every.push('offline_access');
  // An authorization server whose own scopes_supported lacks the resource's scopes keeps those per
  // resource (oidc-provider's resource indicators) and refuses them at registration: none is named.
  const listed = metadata.scopes_supported;
  const named = listed === undefined || every.every((scope) => listed.includes(scope)) ? every : [];
  const { scope: _scope, ...clientMetadata } = provider.clientMetadata;
  try {
    const information = await registerClient(discovery.authorizationServerUrl, {
      metadata,
      clientMetadata,
      ...(named.length === 0 ? {} : { scope: named.join(' ') }),
      fetchFn: target.fetch,
    });
    await provider.saveClientInformation({ ...information, issuer: discovery.authorizationServerUrl });
  } catch (error) {
    throw authorizationServerError(
      target.server,
      'registration_failed',
      'registering the client failed',
      error,
      oauthCode(error),
    );
  }
}

const failed = (reason: string, message: string, details: Record<string, unknown> = {}) =>
  new StewardError('authorization_failed', message, { details: { reason, ...details } });

/** @internal The OAuth error code of an SDK error, when it has one. */
export const oauthCode = (error: unknown) => (error instanceof OAuthError ? error.errorCode : undefined);

/**
 * @internal Claims the pending authorization under `state` for `userId`, the signed-in user
 * completing it (deleting it: single use, and of two instances only the one whose delete removed
 * it goes on). Another user is refused before anything is deleted or redeemed: an attacker who
 * started an authorization and got a victim to open its URL would otherwise store the victim's
 * tokens under the attacker's account, and the victim's refusal leaves the state to its owner.
 */
export async function claimPending(
  vault: ServerOAuth['vault'],
  state: string,
  userId: string,
): Promise<PendingRecord> {
  if (!/^[A-Za-z0-9_-]{16,128}$/.test(state))
    throw failed('unknown_state', 'This authorization is unknown or was already used');
  const pending = await readRecord(vault, pendingRef(state), pendingRecordSchema);
  if (pending === undefined)
    throw failed('unknown_state', 'This authorization is unknown or was already used');
  // Checked at run time too: a caller outside TypeScript may pass no user at all.
  if (typeof userId !== 'string' || userId === '' || pending.userId !== userId)
    throw failed(
      'wrong_user',
      'This authorization was started by another user; sign in as them to finish it',
      {
        server: pending.server,
      },
    );
  if (!(await vault.delete(pendingRef(state))))
    throw failed('unknown_state', 'This authorization is unknown or was already used');
  return pending;
}

/**
 * @internal Redeems the code of a claimed authorization: the SDK's token request with the stored
 * PKCE verifier, the `redirect_uri` and the `resource`, authenticated as the client registered.
 */
export async function exchangeCode(
  target: ServerOAuth,
  pending: PendingRecord,
  code: string,
): Promise<McpAuthorizationResult> {
  const discovery = await discover(target, pending.resourceMetadataUrl);
  const provider = new VaultOAuthProvider(target, pending.userId, {
    kind: 'exchange',
    codeVerifier: pending.codeVerifier,
    scopes: pending.scopes,
  });
  let tokens: Awaited<ReturnType<typeof fetchToken>>;
  try {
    const resource = await resourceOf(target, provider, discovery);
    tokens = await fetchToken(provider, discovery.authorizationServerUrl, {
      ...(discovery.authorizationServerMetadata === undefined
        ? {}
        : { metadata: discovery.authorizationServerMetadata }),
      ...(resource === undefined ? {} : { resource: new URL(resource) }),
      authorizationCode: code,
      fetchFn: target.fetch,
    });
  } catch (error) {
    throw authorizationServerError(
      target.server,
      'token_request_failed',
      'redeeming the authorization code failed',
      error,
      oauthCode(error),
    );
  }
  const previous = await readTokens(target, pending.userId);
  const record = await saveTokenRecord(
    target,
    pending.userId,
    { ...tokens, issuer: discovery.authorizationServerUrl },
    pending.scopes,
    previous,
    pending.stepUps > 0
      ? { ...(pending.callId === undefined ? {} : { callId: pending.callId }), count: pending.stepUps }
      : undefined,
  );
  return {
    server: pending.server,
    userId: pending.userId,
    ...(pending.runId === undefined ? {} : { runId: pending.runId }),
    ...(pending.callId === undefined ? {} : { callId: pending.callId }),
    scopes: record.scopes,
  };
}

/** @internal The `authorization_failed` for an error the authorization server sent to the callback. */
export function callbackError(server: string, error: string, description: string | undefined): StewardError {
  const reason = error === 'access_denied' ? 'denied' : 'authorization_server_error';
  const said = description === undefined ? '' : `: ${description.slice(0, 200)}`;
  return new StewardError(
    'authorization_failed',
    `${server}: the authorization server answered ${error.slice(0, 64)}${said}`,
    {
      details: { server, reason, error: error.slice(0, 64) },
    },
  );
}
