/**
 * `getToken` for the Steward client: asks this host's `/api/token` for a short-lived token and
 * reuses it until 30 seconds before it expires. Requests that need one at the same time share
 * a single fetch.
 */
export function createTokenSource(endpoint = '/api/token'): () => Promise<string> {
  let current: { token: string; expiresAt: number } | undefined;
  let pending: Promise<string> | undefined;
  return async () => {
    if (current !== undefined && current.expiresAt - 30 > Date.now() / 1000) return current.token;
    pending ??= (async () => {
      try {
        const response = await fetch(endpoint, { cache: 'no-store', credentials: 'same-origin' });
        // Signed out (the session ended): back to the sign-in page.
        if (response.status === 401) window.location.assign('/login');
        if (!response.ok) throw new Error(`${endpoint} answered ${response.status}`);
        const body = (await response.json()) as { token: string; expires_at: number };
        current = { token: body.token, expiresAt: body.expires_at };
        return body.token;
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  };
}
