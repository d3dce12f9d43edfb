import { currentUser } from '../../../server/session.ts';
import { issueUserToken } from '../../../server/tokens.ts';

/**
 * The browser's token for the orchestrator: short-lived, for the signed-in user. The session
 * cookie (SameSite=Lax, HttpOnly) authenticates the request; no other origin can read the answer
 * (this host sends no CORS headers).
 */
export async function GET(): Promise<Response> {
  const user = await currentUser();
  if (user === undefined)
    return Response.json(
      { error: { code: 'unauthorized', message: 'Sign in first' } },
      { status: 401, headers: { 'cache-control': 'no-store' } },
    );
  const { token, expiresAt } = await issueUserToken(user);
  return Response.json({ token, expires_at: expiresAt }, { headers: { 'cache-control': 'no-store' } });
}
