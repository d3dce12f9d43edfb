import type { HistoryMessage } from '@steward/react';
import { createStewardClient, type StewardClient, StewardClientError } from '@steward/transport-ws/client';
import { hostConfig } from './config.ts';
import type { SignedInUser } from './session.ts';
import { issueUserToken } from './tokens.ts';

/** The Steward API as the signed-in user, from this server (server components, route handlers). */
export function orchestratorFor(user: SignedInUser): StewardClient {
  return createStewardClient({
    url: hostConfig().orchestratorInternalUrl,
    getToken: async () => (await issueUserToken(user)).token,
  });
}

/** The session's history, or undefined when the user has no such session (another user's included). */
export async function historyOf(
  user: SignedInUser,
  sessionId: string,
): Promise<HistoryMessage[] | undefined> {
  try {
    return await orchestratorFor(user).history(sessionId);
  } catch (error) {
    if (StewardClientError.isInstance(error) && (error.status === 404 || error.status === 400))
      return undefined;
    throw error;
  }
}
