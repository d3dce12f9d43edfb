import { isStewardError, StewardError } from '@steward/core';

/** @internal Why a call needs the user to authorize. */
export type AuthorizationReason = 'not_connected' | 'expired' | 'insufficient_scope';

/** @internal What a resource server's challenge said (`WWW-Authenticate`). */
export interface Challenge {
  readonly resourceMetadataUrl?: string | undefined;
  readonly scope?: string | undefined;
}

const marker = Symbol.for('steward.mcp.authorizationNeeded');

/**
 * @internal Thrown where the user's token is missing or not enough (the fetch of a per-user
 * session, which knows nothing of runs); the registry turns it into an `authorization_required`
 * with an authorization URL and a state bound to the call (`beginAuthorization`).
 */
export function authorizationNeeded(
  server: string,
  reason: AuthorizationReason,
  challenge: Challenge = {},
): StewardError {
  const error = new StewardError(
    'authorization_required',
    `${server}: the user needs to authorize this server (${reason.replace('_', ' ')})`,
    {
      retryable: false,
      details: { server, reason, ...(challenge.scope === undefined ? {} : { scope: challenge.scope }) },
    },
  );
  Object.defineProperty(error, marker, { value: challenge });
  return error;
}

/** @internal The challenge of an error from {@link authorizationNeeded}, or undefined. */
export function neededChallenge(error: unknown): (Challenge & { reason: AuthorizationReason }) | undefined {
  if (!isStewardError(error, 'authorization_required')) return undefined;
  const challenge = (error as unknown as Record<symbol, Challenge | undefined>)[marker];
  if (challenge === undefined) return undefined;
  return { ...challenge, reason: error.details.reason as AuthorizationReason };
}
