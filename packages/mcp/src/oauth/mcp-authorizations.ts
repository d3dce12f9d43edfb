import type { McpAuthorizationResult, McpAuthorizationStart } from './authorization-flow.ts';
import type { McpConnection } from './oauth-servers.ts';

/**
 * The registry's authorization API for servers users connect with OAuth: what a host's OAuth
 * callback and "connections" page call (`@steward/transport-ws` types the same methods
 * structurally).
 */
export interface McpAuthorizations {
  /**
   * Starts connecting `userId` to an OAuth server (`auth: { type: 'oauth' }`): the URL to send
   * the user to, and its single-use `state`, bound to the user (and the run and call, when
   * given) until `expiresAt`. `scopes` replaces the scopes the server asks for.
   */
  beginAuthorization(request: {
    server: string;
    userId: string;
    runId?: string;
    callId?: string;
    scopes?: readonly string[];
    signal?: AbortSignal;
  }): Promise<McpAuthorizationStart>;
  /**
   * Completes an authorization from the callback's query (`code` and `state`, or `error`) for
   * `userId`, the signed-in user whose browser brought it back: the code is redeemed and the
   * user's tokens stored. The state works once, on any instance. A `userId` other than the one the
   * authorization was started for is refused before the code is redeemed or the state used up
   * (`wrong_user`): a state alone does not prove who finishes it, so a callback that cannot tell
   * who the browser is must not complete. Rejects with `authorization_failed`, `details.reason`:
   * `wrong_user`, `unknown_state` (unknown or used), `expired`,
   * `denied` (the user said no), `authorization_server_error`, `invalid_request`,
   * `token_request_failed` (with the server's `details.error`), `unknown_server`.
   */
  completeAuthorization(request: {
    state: string;
    /** The signed-in user completing it (from the host's session or the bearer), never from the state. */
    userId: string;
    code?: string;
    error?: string;
    errorDescription?: string;
    signal?: AbortSignal;
  }): Promise<McpAuthorizationResult>;
  /** The user's connection to each OAuth server. Never a token. */
  connections(userId: string): Promise<readonly McpConnection[]>;
  /** Deletes the user's tokens for `server` (revoking them where the server can) and closes their session. */
  disconnect(request: { server: string; userId: string }): Promise<boolean>;
}
