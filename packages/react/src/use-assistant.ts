import type { InputResponse } from '@steward/core';
import {
  createStewardClient,
  type StewardClient,
  type StewardClientOptions,
} from '@steward/transport-ws/client';
import { useEffect, useMemo, useRef, useSyncExternalStore } from 'react';
import { createChatController } from './chat-controller.ts';
import type { ChatMessage, ToolAuthorization, ToolCard, ToolInputRequest } from './chat-message.ts';
import {
  type AssistantError,
  type AssistantStatus,
  pendingApprovalsOf,
  pendingAuthorizationsOf,
} from './chat-reducer.ts';
import type { HistoryMessage } from './history-messages.ts';
import { pendingInputsOf } from './input-requests.ts';

/** Connect by URL: the hook creates the client. */
export interface UseAssistantUrlOptions {
  /** The API's base URL, e.g. `https://chat.example.com` (the WebSocket URL is derived from it). */
  url: string;
  /** A bearer token: a user JWT, or a run token (`issueRunToken`) for one run. */
  token?: string;
  /** Called before every request and reconnect, so an expiring token can be refreshed. Wins over `token`. */
  getToken?: () => string | Promise<string>;
  /** Default: the global `fetch`. Read when the client is created (when `url` changes). */
  fetch?: typeof fetch;
  /** Default: the global `WebSocket`. Read when the client is created. */
  WebSocket?: typeof WebSocket;
  /** Reconnects after a dropped stream (default 8 tries, 250 ms doubling up to 5 s). Read when the client is created. */
  reconnect?: StewardClientOptions['reconnect'];
  /** Load this session's history on mount and continue it. Changing it switches conversations. */
  sessionId?: string;
  /**
   * The history of `sessionId`, already fetched where the page was rendered (a server component's
   * `client.history(sessionId)`): shown from the first render on, server rendering included, and
   * not requested again. Read with `sessionId`, when it is first given and when it changes.
   */
  initialHistory?: readonly HistoryMessage[];
  client?: undefined;
}

/** Connect through a client you created with `createStewardClient` (shared, or with custom options). */
export interface UseAssistantClientOptions {
  client: StewardClient;
  /** Load this session's history on mount and continue it. Changing it switches conversations. */
  sessionId?: string;
  /** As in {@link UseAssistantUrlOptions.initialHistory}. */
  initialHistory?: readonly HistoryMessage[];
}

/** Options of {@link useAssistant}: a URL and a token, or a prebuilt client. */
export type UseAssistantOptions = UseAssistantUrlOptions | UseAssistantClientOptions;

/** What {@link useAssistant} returns. Functions are stable across renders. */
export interface UseAssistantResult {
  /** The conversation in display order: user messages, assistant text, and tool cards. */
  readonly messages: readonly ChatMessage[];
  readonly status: AssistantStatus;
  /** The session the conversation belongs to: the `sessionId` option, or the one the server created. */
  readonly sessionId: string | undefined;
  /** The tool calls waiting for the user's decision. */
  readonly pendingApprovals: readonly ToolCard[];
  /** The tools' requests for input waiting for the user's answer (each is also in its card's `inputRequests`). */
  readonly pendingInputs: readonly ToolInputRequest[];
  /**
   * The calls waiting for the user to connect their server (each is also its card's
   * `authorization`): link to `authorizationUrl`; the server's OAuth callback completes it.
   */
  readonly pendingAuthorizations: readonly ToolAuthorization[];
  /** The last failure; cleared by the next `send` and `reconnect`. */
  readonly error: AssistantError | undefined;
  /**
   * Starts a run with `text` and streams it. Ignored while a run is being submitted or streamed
   * (one run per session at a time) and for blank text. Never rejects: failures land in `error`.
   */
  send(text: string): Promise<void>;
  /** Stops the active run; the answer so far stays, marked `partial`. Closing the page does not stop it. */
  stop(): Promise<void>;
  /** Sends the last user input again, as a new run after the previous answer. */
  regenerate(): Promise<void>;
  /** Approves a waiting call (`ToolCard.callId`); the run goes on and the card moves to its result. */
  approve(callId: string): Promise<void>;
  /** Denies a waiting call; the model is told (with `reason`) and answers without it. */
  deny(callId: string, reason?: string): Promise<void>;
  /**
   * Answers a pending request for input (`ToolInputRequest.requestId`): `accept` with the form's
   * `content`, `decline` or `cancel`. An answer the server refuses (content that does not fit the
   * form) leaves the request pending with the reason in its `error`. Never rejects.
   */
  respondToInput(requestId: string, response: InputResponse): Promise<void>;
  /** Reopens the active run's stream from the last seq seen, e.g. after `status` became `error`. */
  reconnect(): void;
}

/**
 * A chat over the Steward API: streams the run's tokens as they arrive, shows tool calls as
 * cards that move through approval to their result, and resumes after a dropped connection
 * from the last seq it saw, so no token shows twice.
 *
 * @example
 * ```tsx
 * function Chat({ token }: { token: string }) {
 *   const { messages, status, send, approve, deny } = useAssistant({ url: '/', token });
 *   return (
 *     <>
 *       {messages.map((message) =>
 *         message.role === 'tool' ? (
 *           <ToolCardView key={message.id} card={message} onApprove={approve} onDeny={deny} />
 *         ) : (
 *           <p key={message.id}>{message.text}</p>
 *         ),
 *       )}
 *       <Composer disabled={status === 'submitting' || status === 'streaming'} onSend={send} />
 *     </>
 *   );
 * }
 * ```
 */
export function useAssistant(options: UseAssistantOptions): UseAssistantResult {
  const latest = useRef(options);
  useEffect(() => {
    latest.current = options;
  });

  const given = options.client;
  const url = options.client === undefined ? options.url : undefined;
  const fetchImpl = options.client === undefined ? options.fetch : undefined;
  const WebSocketImpl = options.client === undefined ? options.WebSocket : undefined;
  const reconnect = options.client === undefined ? options.reconnect : undefined;
  // biome-ignore lint/correctness/useExhaustiveDependencies: `reconnect` is read when the client is created; an inline object would otherwise make a new client (and conversation) on every render.
  const client = useMemo(() => {
    if (given !== undefined) return given;
    return createStewardClient({
      url: url as string,
      // Read at each request, so a new token (or getToken) applies without a new client.
      getToken: async () => {
        const { token, getToken } = latest.current as UseAssistantUrlOptions;
        return getToken !== undefined ? getToken() : (token as string);
      },
      ...(fetchImpl === undefined ? {} : { fetch: fetchImpl }),
      ...(WebSocketImpl === undefined ? {} : { WebSocket: WebSocketImpl }),
      ...(reconnect === undefined ? {} : { reconnect }),
    });
  }, [given, url, fetchImpl, WebSocketImpl]);

  // The session and its given history at creation are the first state, so the server renders them
  // and hydration finds the same; later changes of `sessionId` go through openSession below.
  // biome-ignore lint/correctness/useExhaustiveDependencies: read once per client, like `reconnect`.
  const controller = useMemo(
    () => createChatController(client, options.sessionId, options.initialHistory),
    [client],
  );
  useEffect(() => {
    controller.start();
    return () => controller.dispose();
  }, [controller]);
  const { sessionId } = options;
  useEffect(() => {
    if (sessionId !== undefined) controller.openSession(sessionId, latest.current.initialHistory);
  }, [controller, sessionId]);

  const state = useSyncExternalStore(controller.subscribe, controller.getState, controller.getState);
  const pendingApprovals = useMemo(() => pendingApprovalsOf(state.messages), [state.messages]);
  const pendingInputs = useMemo(() => pendingInputsOf(state.messages), [state.messages]);
  const pendingAuthorizations = useMemo(() => pendingAuthorizationsOf(state.messages), [state.messages]);
  const actions = useMemo(
    () => ({
      send: (text: string) => controller.send(text),
      stop: () => controller.stop(),
      regenerate: () => controller.regenerate(),
      approve: (callId: string) => controller.approve(callId),
      deny: (callId: string, reason?: string) => controller.deny(callId, reason),
      respondToInput: (requestId: string, response: InputResponse) =>
        controller.respondToInput(requestId, response),
      reconnect: () => controller.reconnect(),
    }),
    [controller],
  );
  return {
    messages: state.messages,
    status: state.status,
    sessionId: state.sessionId,
    pendingApprovals,
    pendingInputs,
    pendingAuthorizations,
    error: state.error,
    ...actions,
  };
}
