import type { Assistant, StewardError } from '@steward/core';
import { z } from 'zod';
import type { Principal } from './auth.ts';
import { json } from './http-body.ts';
import { HttpError } from './http-error.ts';
import { oauthRoutes } from './oauth-completion.ts';

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
   * Completes the authorization `state` names with the callback's `code` (or its `error`) for
   * `userId`, the signed-in user finishing it: once, before it expires. Must refuse a `userId`
   * that did not begin it with `authorization_failed`, `details.reason: 'wrong_user'`, before the
   * code is redeemed and without using up the state. Resolves whose it was, and the run and call
   * that waited for it, if any; rejects `authorization_failed` (`details.reason`) otherwise.
   */
  completeAuthorization(request: {
    state: string;
    userId: string;
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

/** @internal What the connection routes need from the API. */
export interface ConnectionRouteContext {
  readonly assistant: Assistant;
  readonly authorizations: Authorizations | undefined;
  /** The host's page that finishes an authorization as its signed-in user (`oauth.completionUrl`). */
  readonly completionUrl: string | undefined;
  readonly maxBodyBytes: number;
  readonly userPrincipal: (request: Request) => Promise<Principal>;
  readonly warn: (warning: StewardError) => void;
}

type Route = (request: Request, url: URL, params: readonly string[]) => Promise<Response>;

/**
 * @internal The connection routes: the OAuth callback (no bearer: it only hands the query to the
 * host's completion page), its completion (bearer, the token's user must be the state's), and a
 * user's list, connect and disconnect (bearer, the token's user).
 */
export function connectionRoutes(context: ConnectionRouteContext): Record<string, Route> {
  const enabled = (): Authorizations => {
    if (context.authorizations === undefined)
      throw new HttpError(404, 'not_found', 'Connections are not enabled on this server');
    return context.authorizations;
  };
  return {
    ...oauthRoutes({ ...context, enabled }),
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
