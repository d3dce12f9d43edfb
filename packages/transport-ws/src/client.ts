import type { InputRequiredEvent, InputResponse, StewardEvent } from '@steward/core';
import type { HistoryMessage } from './api.ts';
import type { ConnectionStartView, ConnectionView } from './connections.ts';
import type { ErrorBody, HttpErrorCode } from './http-error.ts';
import type { AuthorizationCompletionBody, AuthorizationCompletionView } from './oauth-completion.ts';
import type { ApprovalView, InputView, RunView } from './run-access.ts';

export { readAuthorizationCallback } from './authorization-callback.ts';
export type { AuthorizationCompletionBody, AuthorizationCompletionView } from './oauth-completion.ts';

/** Options of {@link createStewardClient}. */
export interface StewardClientOptions {
  /** The API's base URL, e.g. `https://chat.example.com` (the WebSocket URL is derived from it). */
  url: string;
  /** A bearer token: a user JWT, or a run token for one run. */
  token?: string;
  /** Called before every request and reconnect, so an expiring token can be refreshed. */
  getToken?: () => string | Promise<string>;
  /** Default: the global `fetch`. */
  fetch?: typeof fetch;
  /** Default: the global `WebSocket` (browsers, Node ≥ 22). */
  WebSocket?: typeof WebSocket;
  /** Reconnects after a dropped stream. Default 8 tries, 250 ms doubling up to 5,000 ms. */
  reconnect?: { retries?: number; minDelayMs?: number; maxDelayMs?: number };
}

/** Options of {@link StewardClient.stream}. */
export interface StreamOptions {
  /** Resume after this seq (the last one seen). Default 0: from the start. */
  afterSeq?: number;
  /** Checked by the server against the run's session. */
  sessionId?: string;
  signal?: AbortSignal;
  /** Called on every (re)connect attempt and drop, for a status indicator. */
  onConnection?: (state: 'connecting' | 'open' | 'reconnecting') => void;
  /** A frame the server refused (e.g. an approval of an unknown call); the stream goes on. */
  onProtocolError?: (error: StewardClientError) => void;
}

/** A run's live events: iterate it; each event arrives once, in seq order, across reconnects. */
export interface RunStream extends AsyncIterable<StewardEvent> {
  /** The last seq delivered: pass it as `afterSeq` to resume elsewhere. */
  readonly lastSeq: number;
  /** Sends a frame on the socket (approve, deny, input, stop). Prefer the client's REST methods. */
  send(
    frame:
      | { type: 'approve' | 'deny'; call_id: string; reason?: string }
      | ({ type: 'input'; request_id: string } & InputResponse)
      | { type: 'stop' },
  ): void;
  /** Stops reading (the run goes on). */
  close(): void;
}

const clientErrorMarker = Symbol.for('steward.client-error');

/** An API error as the client sees it: the HTTP status and the body's code. */
export class StewardClientError extends Error {
  override readonly name = 'StewardClientError';
  readonly [clientErrorMarker] = true;
  readonly status: number;
  readonly code: HttpErrorCode | 'connection_lost' | 'invalid_response';
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    status: number,
    code: StewardClientError['code'],
    message: string,
    details: Record<string, unknown> = {},
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** Checks a cross-realm marker, so the guard survives duplicate copies of this package. */
  static isInstance(value: unknown): value is StewardClientError {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[clientErrorMarker] === true
    );
  }
}

/** The Steward API from a browser or Node: REST calls and resumable run streams. */
export interface StewardClient {
  /** `POST /api/v1/respond`: starts a run. */
  respond(
    input: string,
    options?: {
      sessionId?: string;
      maxOutputTokens?: number;
      toolOverrides?: { allow?: string[]; deny?: string[] };
    },
  ): Promise<{ runId: string; sessionId: string }>;
  /** `GET /api/v1/history`: the session's messages, tool outputs included. */
  history(sessionId: string, options?: { limit?: number; signal?: AbortSignal }): Promise<HistoryMessage[]>;
  getRun(runId: string, options?: { signal?: AbortSignal }): Promise<RunView>;
  /** `GET /api/v1/runs/:run_id/approvals`: the run's tool calls that wait for the user or were decided. */
  listApprovals(runId: string, options?: { signal?: AbortSignal }): Promise<ApprovalView[]>;
  /** `GET /api/v1/approvals/:call_id`: one approval by its call id (its run and session included). */
  getApproval(callId: string, options?: { signal?: AbortSignal }): Promise<ApprovalView>;
  approve(runId: string, callId: string): Promise<ApprovalView>;
  deny(runId: string, callId: string, reason?: string): Promise<ApprovalView>;
  /** `GET /api/v1/runs/:run_id/inputs`: the run's requests for input no one answered yet, oldest first. */
  listInputs(runId: string, options?: { signal?: AbortSignal }): Promise<InputRequiredEvent[]>;
  /**
   * `POST /api/v1/runs/:run_id/inputs/:request_id`: answers a tool's request for input (an
   * `input_required` event). Content that does not fit the form rejects with `invalid_input`
   * (`details.issues`), and the request stays open for a corrected answer.
   */
  respondToInput(runId: string, requestId: string, response: InputResponse): Promise<InputView>;
  /** Stops the run (the partial answer is kept). Closing a stream does not. */
  stop(runId: string): Promise<void>;
  /** `GET /api/v1/connections`: the user's connections to the servers users connect to (OAuth). */
  connections(options?: { signal?: AbortSignal }): Promise<ConnectionView[]>;
  /**
   * `POST /api/v1/connections/:server`: starts connecting the user's account on `server`; send
   * them to `authorization_url` (the API's OAuth callback completes it).
   */
  connect(server: string): Promise<ConnectionStartView>;
  /** `DELETE /api/v1/connections/:server`: forgets (and revokes) the connection; resolves whether there was one. */
  disconnect(server: string): Promise<boolean>;
  /**
   * `POST /api/v1/oauth/complete`: finishes an authorization with the query the OAuth callback
   * passed to the host's completion page (see {@link readAuthorizationCallback}), as this client's
   * user, who must be the one who began it. Resolves `outcome: 'connected'` (or `'declined'` when
   * the user said no at the authorization server) and the run whose call it resumed, if any;
   * rejects `authorization_failed` (400, `details.reason`: `wrong_user`, `unknown_state`,
   * `expired`, …) otherwise. Needs a user token (a run token gets 403).
   */
  completeAuthorization(callback: AuthorizationCompletionBody): Promise<AuthorizationCompletionView>;
  /** The run's events over the WebSocket, resuming by seq after drops, until `final`. */
  stream(runId: string, options?: StreamOptions): RunStream;
}

/**
 * A small framework-free client for the Steward API (REST + WebSocket), for browsers and Node.
 *
 * @example
 * ```ts
 * const client = createStewardClient({ url: 'http://localhost:3000', token });
 * const { runId } = await client.respond('Summarise my unread email');
 * for await (const event of client.stream(runId)) if (event.type === 'token') render(event.text);
 * ```
 */
export function createStewardClient(options: StewardClientOptions): StewardClient {
  const base = options.url.replace(/\/+$/, '');
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const retries = options.reconnect?.retries ?? 8;
  const minDelayMs = options.reconnect?.minDelayMs ?? 250;
  const maxDelayMs = options.reconnect?.maxDelayMs ?? 5_000;
  const tokenOf = async (): Promise<string | undefined> => {
    if (options.getToken === undefined) return options.token;
    try {
      return await options.getToken();
    } catch (error) {
      throw new StewardClientError(
        0,
        'unauthorized',
        `getToken failed: ${(error as Error)?.message ?? error}`,
      );
    }
  };

  async function request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const token = await tokenOf();
    let response: Response;
    try {
      response = await doFetch(`${base}${path}`, {
        method,
        headers: {
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(signal === undefined ? {} : { signal }),
      });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw new StewardClientError(0, 'connection_lost', `Request failed: ${(error as Error).message}`);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new StewardClientError(response.status, 'invalid_response', `Not JSON (HTTP ${response.status})`);
    }
    if (!response.ok) {
      const error = (parsed as Partial<ErrorBody> | undefined)?.error;
      throw new StewardClientError(
        response.status,
        error?.code ?? 'invalid_response',
        error?.message ?? `HTTP ${response.status}`,
        { ...error?.details },
      );
    }
    return parsed as T;
  }

  const runPath = (runId: string) => `/api/v1/runs/${encodeURIComponent(runId)}`;

  const client: StewardClient = {
    async respond(input, respondOptions = {}) {
      const body = await request<{ run_id: string; session_id: string }>('POST', '/api/v1/respond', {
        input,
        ...(respondOptions.sessionId === undefined ? {} : { session_id: respondOptions.sessionId }),
        ...(respondOptions.maxOutputTokens === undefined && respondOptions.toolOverrides === undefined
          ? {}
          : {
              options: {
                ...(respondOptions.maxOutputTokens === undefined
                  ? {}
                  : { max_output_tokens: respondOptions.maxOutputTokens }),
                ...(respondOptions.toolOverrides === undefined
                  ? {}
                  : { tool_overrides: respondOptions.toolOverrides }),
              },
            }),
      });
      return { runId: body.run_id, sessionId: body.session_id };
    },
    async history(sessionId, historyOptions = {}) {
      const query = new URLSearchParams({ session_id: sessionId });
      if (historyOptions.limit !== undefined) query.set('limit', String(historyOptions.limit));
      return (
        await request<{ messages: HistoryMessage[] }>(
          'GET',
          `/api/v1/history?${query}`,
          undefined,
          historyOptions.signal,
        )
      ).messages;
    },
    getRun: (runId, runOptions = {}) => request<RunView>('GET', runPath(runId), undefined, runOptions.signal),
    async listApprovals(runId, listOptions = {}) {
      return (
        await request<{ approvals: ApprovalView[] }>(
          'GET',
          `${runPath(runId)}/approvals`,
          undefined,
          listOptions.signal,
        )
      ).approvals;
    },
    getApproval: (callId, approvalOptions = {}) =>
      request<ApprovalView>(
        'GET',
        `/api/v1/approvals/${encodeURIComponent(callId)}`,
        undefined,
        approvalOptions.signal,
      ),
    approve: (runId, callId) =>
      request<ApprovalView>('POST', `${runPath(runId)}/approvals`, { call_id: callId, decision: 'approve' }),
    deny: (runId, callId, reason) =>
      request<ApprovalView>('POST', `${runPath(runId)}/approvals`, {
        call_id: callId,
        decision: 'deny',
        ...(reason === undefined ? {} : { reason }),
      }),
    async listInputs(runId, listOptions = {}) {
      return (
        await request<{ inputs: InputRequiredEvent[] }>(
          'GET',
          `${runPath(runId)}/inputs`,
          undefined,
          listOptions.signal,
        )
      ).inputs;
    },
    respondToInput: (runId, requestId, response) =>
      request<InputView>('POST', `${runPath(runId)}/inputs/${encodeURIComponent(requestId)}`, response),
    async stop(runId) {
      await request('POST', `${runPath(runId)}/stop`);
    },
    async connections(connectionOptions = {}) {
      return (
        await request<{ connections: ConnectionView[] }>(
          'GET',
          '/api/v1/connections',
          undefined,
          connectionOptions.signal,
        )
      ).connections;
    },
    connect: (server) =>
      request<ConnectionStartView>('POST', `/api/v1/connections/${encodeURIComponent(server)}`),
    async disconnect(server) {
      return (
        await request<{ disconnected: boolean }>(
          'DELETE',
          `/api/v1/connections/${encodeURIComponent(server)}`,
        )
      ).disconnected;
    },
    completeAuthorization: (callback) =>
      request<AuthorizationCompletionView>('POST', '/api/v1/oauth/complete', {
        state: callback.state,
        ...(callback.code === undefined ? {} : { code: callback.code }),
        ...(callback.error === undefined ? {} : { error: callback.error }),
        ...(callback.error_description === undefined
          ? {}
          : { error_description: callback.error_description }),
      }),
    stream(runId, streamOptions = {}) {
      return openRunStream(runId, streamOptions);
    },
  };

  function openRunStream(runId: string, streamOptions: StreamOptions): RunStream {
    const WebSocketImpl = options.WebSocket ?? globalThis.WebSocket;
    const queue: StewardEvent[] = [];
    let failure: StewardClientError | undefined;
    let ended = false;
    let lastSeq = streamOptions.afterSeq ?? 0;
    let socket: WebSocket | undefined;
    let wake: (() => void) | undefined;
    const notify = () => {
      wake?.();
      wake = undefined;
    };
    const onAbort = () => end();
    const end = (error?: StewardClientError) => {
      if (ended) return;
      ended = true;
      failure = error;
      streamOptions.signal?.removeEventListener('abort', onAbort);
      socket?.close(1000);
      notify();
    };
    if (streamOptions.signal?.aborted) ended = true;
    else streamOptions.signal?.addEventListener('abort', onAbort, { once: true });

    const connect = async (attempt: number): Promise<void> => {
      if (ended) return;
      streamOptions.onConnection?.(attempt === 0 ? 'connecting' : 'reconnecting');
      let token: string | undefined;
      try {
        token = await tokenOf();
      } catch (error) {
        end(error as StewardClientError);
        return;
      }
      if (ended) return; // Closed while the token was on its way: open nothing.
      const query = new URLSearchParams({ run_id: runId, last_seq: String(lastSeq) });
      if (streamOptions.sessionId !== undefined) query.set('session_id', streamOptions.sessionId);
      if (token !== undefined) query.set('token', token);
      const ws = new WebSocketImpl(`${base.replace(/^http/, 'ws')}/ws?${query}`);
      socket = ws;
      let opened = false;
      let progressed = false;
      ws.onopen = () => {
        opened = true;
        streamOptions.onConnection?.('open');
      };
      ws.onmessage = (message) => {
        let frame: unknown;
        try {
          frame = JSON.parse(String(message.data));
        } catch {
          return;
        }
        if (
          typeof frame !== 'object' ||
          frame === null ||
          typeof (frame as { type?: unknown }).type !== 'string'
        )
          return; // Not a Steward frame: ignore it rather than hand the app something malformed.
        const event = frame as StewardEvent;
        if (typeof event.seq !== 'number') {
          // A protocol error (no seq): the socket stays usable.
          const problem = frame as { code?: string; message?: string };
          streamOptions.onProtocolError?.(
            new StewardClientError(
              0,
              (problem.code ?? 'invalid_response') as HttpErrorCode,
              problem.message ?? '',
            ),
          );
          return;
        }
        if (event.seq <= lastSeq) return; // Seen before a reconnect: never twice.
        lastSeq = event.seq;
        progressed = true;
        queue.push(event);
        notify();
        if (event.type === 'final') end();
      };
      ws.onclose = () => {
        if (ended || socket !== ws) return;
        (async () => {
          if (!opened) {
            // The upgrade was refused or the server is away: REST says which, with a real status.
            try {
              const run = await client.getRun(runId);
              // The socket checks the session too: a mismatch is a 404 there, so say so here.
              if (streamOptions.sessionId !== undefined && run.session_id !== streamOptions.sessionId) {
                end(new StewardClientError(404, 'not_found', `Run ${runId} does not exist`));
                return;
              }
            } catch (error) {
              if (StewardClientError.isInstance(error) && error.status >= 400 && error.status < 500) {
                const clientError = error;
                end(clientError);
                return;
              }
            }
          }
          const next = progressed ? 0 : attempt + 1;
          if (next > retries) {
            end(new StewardClientError(0, 'connection_lost', `Lost the stream of run ${runId}`));
            return;
          }
          const backoff = Math.min(maxDelayMs, minDelayMs * 2 ** next);
          await new Promise((resolve) =>
            setTimeout(resolve, next === 0 ? 0 : backoff * (0.5 + Math.random() / 2)),
          );
          await connect(Math.max(next, 1));
        })().catch((error: unknown) =>
          end(
            StewardClientError.isInstance(error)
              ? error
              : new StewardClientError(0, 'connection_lost', `Could not reconnect: ${String(error)}`),
          ),
        );
      };
    };
    connect(0).catch((error: unknown) =>
      end(
        StewardClientError.isInstance(error)
          ? error
          : new StewardClientError(0, 'connection_lost', `Could not open the stream: ${String(error)}`),
      ),
    );

    return {
      get lastSeq() {
        return lastSeq;
      },
      send(frame) {
        socket?.send(JSON.stringify(frame));
      },
      close: () => end(),
      [Symbol.asyncIterator]() {
        return {
          async next(): Promise<IteratorResult<StewardEvent>> {
            while (queue.length === 0 && !ended) await new Promise<void>((resolve) => (wake = resolve));
            const event = queue.shift();
            if (event !== undefined) return { value: event, done: false };
            if (failure !== undefined) throw failure;
            return { value: undefined, done: true };
          },
          async return(): Promise<IteratorResult<StewardEvent>> {
            end();
            return { value: undefined, done: true };
          },
        };
      },
    };
  }

  return client;
}
