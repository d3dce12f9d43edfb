import { isStewardError } from '@steward/core';
import { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import { humanize } from '../../public/tool-words.js';
import { fieldsOf, formBody, refuse } from './form-body.ts';
import { idPattern, type RouteKit } from './route-kit.ts';
import { messagePage } from './views.ts';

/** A user's connection to an OAuth-protected MCP server, as the Tools page shows it. */
export interface HostConnection {
  readonly server: string;
  readonly status: 'connected' | 'not_connected' | 'expired';
  readonly connectedAt?: string;
}

/** A run's call that waits for its user to connect the call's server (an `authorization_required`). */
export interface WaitingAuthorization {
  readonly runId: string;
  readonly sessionId: string;
  readonly server: string;
  readonly authorizationUrl: string;
}

/**
 * What the pages need to let users connect their own accounts on OAuth-protected MCP servers:
 * the MCP registry's `beginAuthorization` / `completeAuthorization` / `connections` /
 * `disconnect`, and the run side (the call waiting for the connection, and resuming it with
 * `assistant.completeAuthorization`). Every call is scoped to the signed-in user.
 */
export interface HostConnections {
  list(userId: string): Promise<readonly HostConnection[]>;
  begin(userId: string, server: string): Promise<{ authorizationUrl: string; state: string }>;
  /**
   * Redeems the callback's code (or hears its error) for `userId`, the signed-in user whose
   * browser came back with it; rejects `authorization_failed` (`details.reason`, `wrong_user`
   * when the authorization is another user's: nothing redeemed, the state left to its owner).
   */
  complete(callback: {
    state: string;
    userId: string;
    code?: string;
    error?: string;
    errorDescription?: string;
  }): Promise<{ server: string; userId: string; runId?: string; callId?: string }>;
  disconnect(userId: string, server: string): Promise<boolean>;
  /** The user's call `callId` while it waits for a connection, else undefined. */
  waiting(userId: string, callId: string): Promise<WaitingAuthorization | undefined>;
  /** Ends the call's wait: it runs (`connected`), or the model hears no (`declined`). */
  resume(userId: string, runId: string, callId: string, outcome: 'connected' | 'declined'): Promise<void>;
}

/** An authorization this browser started, until its callback. */
interface Connecting {
  state: string;
  server: string;
  runId?: string;
  callId?: string;
  /** Where the callback sends the user back to: the conversation, or the Tools page. */
  returnTo: string;
  startedAt: number;
}

declare module 'express-session' {
  interface SessionData {
    /** Authorizations started from this session: a callback completes only one of these. */
    connecting?: Connecting[];
  }
}

/** How long a started authorization waits for its callback here (the registry's own limit is 10 minutes). */
const connectingWindowMs = 15 * 60_000;
/** At most this many at once per session; the oldest is forgotten first. */
const connectingLimit = 10;

const serverSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
const callbackSchema = z.object({
  state: z.string().min(1).max(512),
  code: z.string().min(1).max(4_096).optional(),
  error: z.string().min(1).max(256).optional(),
  error_description: z.string().max(1_024).optional(),
});

/** The `state` an authorization URL carries. */
function stateOf(authorizationUrl: string): string | undefined {
  try {
    return new URL(authorizationUrl).searchParams.get('state') ?? undefined;
  } catch {
    return undefined;
  }
}

const saved = (request: Request) =>
  new Promise<void>((resolve, reject) =>
    request.session.save((error?: unknown) => (error ? reject(error) : resolve())),
  );

/**
 * Connecting a user's own account on an OAuth-protected MCP server, from the chat (a run waits
 * for it) or the Tools page. Every authorization goes through this host before the browser
 * leaves for the authorization server, which binds its single-use `state` to this browser's
 * session: the callback completes only a state this session started, so a link someone else
 * started (their state, in an email) never connects the signed-in user's account to theirs.
 */
export function createConnectionRoutes(options: { kit: RouteKit; connections: HostConnections }): Router {
  const { kit, connections } = options;
  const { signedIn, noStore, sessions } = kit;
  const router = Router();

  async function sendToAuthorize(request: Request, response: Response, connecting: Connecting, url: string) {
    const now = Date.now();
    const kept = (request.session.connecting ?? []).filter(
      (entry) => now - entry.startedAt < connectingWindowMs && entry.state !== connecting.state,
    );
    request.session.connecting = [...kept, connecting].slice(-connectingLimit);
    await saved(request);
    response.redirect(303, url);
  }

  // The chat's "Connect" on a call that waits: the authorization the run asked for.
  router.get('/connections/authorize', noStore, signedIn, async (request, response) => {
    const { user } = kit.sessionOf(response);
    const callId = typeof request.query.call_id === 'string' ? request.query.call_id : '';
    const waiting = idPattern.test(callId) ? await connections.waiting(user, callId) : undefined;
    const state = waiting === undefined ? undefined : stateOf(waiting.authorizationUrl);
    if (waiting === undefined || state === undefined) {
      response
        .status(409)
        .type('html')
        .send(
          messagePage('Nothing to connect', 'That request to connect was already answered, or it expired.'),
        );
      return;
    }
    await sendToAuthorize(
      request,
      response,
      {
        state,
        server: waiting.server,
        runId: waiting.runId,
        callId,
        returnTo: `/chat/${waiting.sessionId}`,
        startedAt: Date.now(),
      },
      waiting.authorizationUrl,
    );
  });

  // A "Not now" on the chat's card: the run goes on without the tool.
  router.post(
    '/chat/authorizations/decline',
    noStore,
    formBody,
    signedIn,
    sessions.csrfProtection,
    async (request, response) => {
      const { user } = kit.sessionOf(response);
      const callId = String(fieldsOf(request).call_id ?? '');
      const waiting = idPattern.test(callId) ? await connections.waiting(user, callId) : undefined;
      if (waiting === undefined) {
        refuse(
          request,
          response,
          409,
          'approval_conflict',
          'That request to connect was already answered, or it expired.',
        );
        return;
      }
      await connections.resume(user, waiting.runId, callId, 'declined').catch((error: unknown) => {
        if (!isStewardError(error) || !/^approval_/.test(error.code)) throw error;
      });
      if (request.accepts(['html', 'json']) === 'json')
        response.json({ call_id: callId, outcome: 'declined' });
      else response.redirect(303, `/chat/${waiting.sessionId}`);
    },
  );

  // The Tools page's "Connect".
  router.post(
    '/connections/:server',
    noStore,
    formBody,
    signedIn,
    sessions.csrfProtection,
    async (request, response) => {
      const { user } = kit.sessionOf(response);
      const server = serverSchema.safeParse(request.params.server);
      if (!server.success) {
        refuse(request, response, 404, 'not_found', 'There is no such server.');
        return;
      }
      let started: { authorizationUrl: string; state: string };
      try {
        started = await connections.begin(user, server.data);
      } catch (error) {
        if (!isStewardError(error)) throw error;
        refuse(
          request,
          response,
          400,
          'invalid_request',
          `${humanize(server.data)} cannot be connected right now.`,
        );
        return;
      }
      await sendToAuthorize(
        request,
        response,
        { state: started.state, server: server.data, returnTo: '/tools', startedAt: Date.now() },
        started.authorizationUrl,
      );
    },
  );

  router.post(
    '/connections/:server/disconnect',
    noStore,
    formBody,
    signedIn,
    sessions.csrfProtection,
    async (request, response) => {
      const { user } = kit.sessionOf(response);
      const server = serverSchema.safeParse(request.params.server);
      if (!server.success) {
        refuse(request, response, 404, 'not_found', 'There is no such server.');
        return;
      }
      const disconnected = await connections.disconnect(user, server.data);
      response.redirect(
        303,
        `/tools?${new URLSearchParams({ disconnected: disconnected ? server.data : '' })}`,
      );
    },
  );

  // The OAuth redirect URI. The authorization server sends the browser here; the session cookie
  // (SameSite=Lax) comes along on that top-level navigation.
  router.get('/connections/callback', noStore, signedIn, async (request, response) => {
    const { user } = kit.sessionOf(response);
    const query = callbackSchema.safeParse(request.query);
    const started = query.success
      ? request.session.connecting?.find(
          (entry) => entry.state === query.data.state && Date.now() - entry.startedAt < connectingWindowMs,
        )
      : undefined;
    if (!query.success || started === undefined) {
      // Not started here: nothing is redeemed, and the state stays for the browser that did start it.
      response
        .status(400)
        .type('html')
        .send(
          messagePage(
            'Not connected',
            'This connection was not started from this browser while signed in as you. Start it again from the chat or the Tools page.',
          ),
        );
      return;
    }
    request.session.connecting = (request.session.connecting ?? []).filter((entry) => entry !== started);
    await saved(request);
    const { state, code, error, error_description: errorDescription } = query.data;
    const label = humanize(started.server);
    let outcome: 'connected' | 'declined' = 'connected';
    let problem: string | undefined;
    try {
      const completed = await connections.complete({
        state,
        userId: user,
        ...(code === undefined ? {} : { code }),
        ...(error === undefined ? {} : { error }),
        ...(errorDescription === undefined ? {} : { errorDescription }),
      });
      // The registry completed it for this user only; say so loudly if it ever disagrees.
      if (completed.userId !== user) throw new Error('The completed authorization belongs to another user');
    } catch (failure) {
      if (!isStewardError(failure) || failure.code !== 'authorization_failed') throw failure;
      const reason = failure.details.reason;
      if (reason === 'wrong_user') {
        // Another user's authorization (the session check above makes this rare): refused by the
        // registry before anything was redeemed, and their waiting call is not ours to answer.
        response
          .status(400)
          .type('html')
          .send(
            messagePage(
              'Not connected',
              'This connection was started by someone else. Start your own from the chat or the Tools page.',
            ),
          );
        return;
      }
      outcome = 'declined';
      problem =
        reason === 'denied'
          ? `You did not connect ${label}.`
          : reason === 'expired' || reason === 'unknown_state'
            ? `That connection to ${label} expired or was used already. Start it again.`
            : `${label} did not complete the connection. Try again.`;
    }
    if (started.runId !== undefined && started.callId !== undefined)
      await connections.resume(user, started.runId, started.callId, outcome).catch((failure: unknown) => {
        // Already answered (another tab, "Not now") or expired: the run has moved on.
        if (!isStewardError(failure) || !/^approval_/.test(failure.code)) throw failure;
      });
    if (problem !== undefined && started.runId === undefined) {
      response
        .status(400)
        .type('html')
        .send(messagePage('Not connected', problem, { back: '/tools', backLabel: 'Back to Tools' }));
      return;
    }
    response.redirect(
      303,
      started.runId === undefined
        ? `/tools?${new URLSearchParams({ connected: started.server })}`
        : started.returnTo,
    );
  });

  return router;
}
