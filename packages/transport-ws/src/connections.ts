import { type Assistant, isStewardError, type StewardError } from '@steward/core';
import { z } from 'zod';
import type { Principal } from './auth.ts';
import { json } from './http-body.ts';
import { HttpError } from './http-error.ts';
import { idSchema } from './request-schemas.ts';

/**
 * What the API needs to let users connect their accounts on OAuth-protected tool servers. The
 * MCP registry of `@steward/mcp` (`createMcpRegistry({ oauth })`) is one, as it is.
 */
export interface Authorizations {
  /** Starts an authorization for `userId` on `server`: where to send them, and the single-use `state`. */
  beginAuthorization(request: {
    server: string;
    userId: string;
    runId?: string;
    callId?: string;
  }): Promise<{ server: string; authorizationUrl: string; state: string; expiresAt: string }>;
  /**
   * Completes the authorization `state` names with the callback's `code` (or its `error`): once,
   * before it expires. Resolves whose it was, and the run and call that waited for it, if any;
   * rejects `authorization_failed` (`details.reason`) otherwise.
   */
  completeAuthorization(request: {
    state: string;
    code?: string;
    error?: string;
    errorDescription?: string;
  }): Promise<{ server: string; userId: string; runId?: string; callId?: string; scopes: readonly string[] }>;
  /** The user's connections, one per server users connect to. */
  connections(userId: string): Promise<
    readonly {
      server: string;
      status: 'connected' | 'not_connected' | 'expired';
      scopes?: readonly string[];
      connectedAt?: string;
    }[]
  >;
  /** Forgets (and revokes, where the server can) the user's connection; resolves whether there was one. */
  disconnect(request: { server: string; userId: string }): Promise<boolean>;
}

/** One connection in `GET /api/v1/connections`. */
export interface ConnectionView {
  readonly server: string;
  readonly status: 'connected' | 'not_connected' | 'expired';
  readonly scopes?: readonly string[];
  readonly connected_at?: string;
}

/** `POST /api/v1/connections/:server`: where to send the user to connect. */
export interface ConnectionStartView {
  readonly server: string;
  readonly authorization_url: string;
  readonly state: string;
  readonly expires_at: string;
}

/** @internal */
export const authorizationsSchema = z.custom<Authorizations>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    ['beginAuthorization', 'completeAuthorization', 'connections', 'disconnect'].every(
      (method) => typeof (value as Record<string, unknown>)[method] === 'function',
    ),
  'must have beginAuthorization, completeAuthorization, connections and disconnect',
);

// What an authorization server may put in the callback's query (RFC 6749 §4.1.2): a code or an
// error, with the state. Bounded, and checked before the state is used up.
const callbackSchema = z
  .object({
    state: z.string().min(1).max(512),
    code: z.string().min(1).max(4_096).optional(),
    error: z.string().min(1).max(256).optional(),
    error_description: z.string().max(1_024).optional(),
  })
  .refine((query) => query.code !== undefined || query.error !== undefined, {
    message: 'the callback carries neither code nor error',
  });

/** @internal What the connection routes need from the API. */
export interface ConnectionRouteContext {
  readonly assistant: Assistant;
  readonly authorizations: Authorizations | undefined;
  /** Where the callback sends the browser after it ended; otherwise a small page says how it went. */
  readonly authorizationReturnUrl: string | undefined;
  readonly userPrincipal: (request: Request) => Promise<Principal>;
  readonly warn: (warning: StewardError) => void;
}

type Route = (request: Request, url: URL, params: readonly string[]) => Promise<Response>;

/**
 * @internal The connection routes: the OAuth callback (no bearer: the single-use `state` is the
 * credential, and it is bound to the user who began the authorization), and a user's list,
 * connect and disconnect (bearer, the token's user).
 */
export function connectionRoutes(context: ConnectionRouteContext): Record<string, Route> {
  const enabled = (): Authorizations => {
    if (context.authorizations === undefined)
      throw new HttpError(404, 'not_found', 'Connections are not enabled on this server');
    return context.authorizations;
  };
  return {
    'GET /api/v1/oauth/callback': async (_request, url) => callback(context, enabled, url),
    'GET /api/v1/connections': async (request) => {
      const authorizations = enabled();
      const principal = await context.userPrincipal(request);
      const connections: ConnectionView[] = (await authorizations.connections(principal.userId)).map(
        (connection) => ({
          server: connection.server,
          status: connection.status,
          ...(connection.scopes === undefined ? {} : { scopes: [...connection.scopes] }),
          ...(connection.connectedAt === undefined ? {} : { connected_at: connection.connectedAt }),
        }),
      );
      return json(200, { connections });
    },
    'POST /api/v1/connections/:server': async (request, _url, [server]) => {
      const authorizations = enabled();
      const principal = await context.userPrincipal(request);
      const started = await authorizations.beginAuthorization({
        server: server as string,
        userId: principal.userId,
      });
      const view: ConnectionStartView = {
        server: started.server,
        authorization_url: started.authorizationUrl,
        state: started.state,
        expires_at: started.expiresAt,
      };
      return json(201, view);
    },
    'DELETE /api/v1/connections/:server': async (request, _url, [server]) => {
      const authorizations = enabled();
      const principal = await context.userPrincipal(request);
      const disconnected = await authorizations.disconnect({
        server: server as string,
        userId: principal.userId,
      });
      return json(200, { server, disconnected });
    },
  };
}

async function callback(
  context: ConnectionRouteContext,
  enabled: () => Authorizations,
  url: URL,
): Promise<Response> {
  const authorizations = enabled();
  const parsed = callbackSchema.safeParse(Object.fromEntries(url.searchParams));
  if (!parsed.success) {
    return page(400, 'Not connected', 'This link is not a valid authorization callback.', {
      code: 'invalid_request',
    });
  }
  const query = parsed.data;
  let completed: Awaited<ReturnType<Authorizations['completeAuthorization']>>;
  try {
    completed = await authorizations.completeAuthorization({
      state: query.state,
      ...(query.code === undefined ? {} : { code: query.code }),
      ...(query.error === undefined ? {} : { error: query.error }),
      ...(query.error_description === undefined ? {} : { errorDescription: query.error_description }),
    });
  } catch (error) {
    if (!isStewardError(error) || error.code !== 'authorization_failed') throw error;
    const reason = typeof error.details.reason === 'string' ? error.details.reason : 'failed';
    const server = typeof error.details.server === 'string' ? error.details.server : undefined;
    // A user who said no at the authorization server: the run that waited hears it now, not at expiry.
    if (reason === 'denied') await declineWaitingCall(context, error);
    if (reason === 'denied' && context.authorizationReturnUrl !== undefined)
      return redirect(context.authorizationReturnUrl, { outcome: 'declined', server });
    const text =
      reason === 'denied'
        ? 'You declined the connection. You can close this tab.'
        : reason === 'unknown_state' || reason === 'expired'
          ? 'This authorization is unknown, expired or already used. Start it again from the app.'
          : 'The authorization server did not complete the connection. Start it again from the app.';
    return page(reason === 'denied' ? 200 : 400, 'Not connected', text, {
      code: 'authorization_failed',
      reason,
    });
  }
  if (completed.runId !== undefined && completed.callId !== undefined) {
    await resumeWaitingCall(context, {
      runId: completed.runId,
      callId: completed.callId,
      userId: completed.userId,
      outcome: 'connected',
    });
  }
  if (context.authorizationReturnUrl !== undefined)
    return redirect(context.authorizationReturnUrl, { outcome: 'connected', server: completed.server });
  return page(200, 'Connected', 'Connected. You can close this tab.', { code: 'connected' });
}

/** The run waits for this call no longer. Its own end (expired, already completed) is not the callback's failure. */
async function resumeWaitingCall(
  context: ConnectionRouteContext,
  completion: { runId: string; callId: string; userId: string; outcome: 'connected' | 'declined' },
): Promise<void> {
  try {
    await context.assistant.completeAuthorization(completion);
  } catch (error) {
    const expected =
      isStewardError(error) &&
      ['approval_not_found', 'approval_expired', 'approval_conflict', 'not_found'].includes(error.code);
    if (!expected && isStewardError(error)) context.warn(error);
    else if (!expected) throw error;
  }
}

async function declineWaitingCall(context: ConnectionRouteContext, error: StewardError): Promise<void> {
  const { userId, runId, callId } = error.details;
  if (typeof userId !== 'string' || typeof runId !== 'string' || typeof callId !== 'string') return;
  await resumeWaitingCall(context, { runId, callId, userId, outcome: 'declined' });
}

function redirect(to: string, query: { outcome: string; server: string | undefined }): Response {
  const location = new URL(to);
  location.searchParams.set('outcome', query.outcome);
  if (query.server !== undefined && idSchema.safeParse(query.server).success)
    location.searchParams.set('server', query.server);
  return new Response(null, { status: 303, headers: { location: location.toString(), ...pageHeaders } });
}

// The callback's URL holds a code: no cache keeps the page, no Referer carries it on.
const pageHeaders = { 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' };

/** A page a person reads in the tab the authorization server sent back; the data attributes are for tests and scripts. */
function page(
  status: number,
  title: string,
  text: string,
  data: { code: string; reason?: string },
): Response {
  const attributes = Object.entries(data)
    .map(([key, value]) => ` data-${key}="${escapeHtml(value)}"`)
    .join('');
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><main${attributes}><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p></main></body></html>`;
  return new Response(body, {
    status,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': "default-src 'none'",
      ...pageHeaders,
    },
  });
}

function escapeHtml(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (character) =>
      ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[character] as string,
  );
}
