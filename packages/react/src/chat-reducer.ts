import type { ErrorEvent, StewardEvent } from '@steward/core';
import type { StewardClient, StewardClientError } from '@steward/transport-ws/client';
import type { AssistantChatMessage, ChatMessage, ToolAuthorization, ToolCard } from './chat-message.ts';
import { type HistoryMessage, messagesFromHistory, newToolCard, statusOfError } from './history-messages.ts';
import {
  cancelOpenInputs,
  type InputView,
  inputRequestOf,
  refuseInput,
  resolveInput,
  updateInput,
} from './input-requests.ts';

/**
 * What the hook is doing:
 * - `idle`: no run under way (before the first message, or after `final`).
 * - `submitting`: `POST /respond` is in flight.
 * - `streaming`: the run's events are arriving.
 * - `awaiting_approval`: the run is paused until every waiting call is approved or denied, and every
 *   call waiting for the user to connect its server is connected or declined (`pendingAuthorizations`).
 * - `awaiting_input`: a tool waits for the user's answer to its request for input (`pendingInputs`).
 * - `reconnecting`: the socket dropped; the client is resuming from the last seq it saw.
 * - `error`: the last request or stream failed, or the run ended with an error (see `error`).
 */
export type AssistantStatus =
  | 'idle'
  | 'submitting'
  | 'streaming'
  | 'awaiting_approval'
  | 'awaiting_input'
  | 'reconnecting'
  | 'error';

/**
 * The last failure: a `StewardClientError` (from `@steward/transport-ws/client`) for a request
 * or a stream that failed (it has a `status` and a `code`), or the run's own `error` event (it
 * has `type: 'error'`, `code` and `retryable`).
 */
export type AssistantError = StewardClientError | ErrorEvent;

/** @internal A decided approval, as `POST /approvals` returns it. */
export type ApprovalView = Awaited<ReturnType<StewardClient['approve']>>;

/** @internal */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting';

/** @internal Everything the hook renders, folded from requests and run events by {@link chatReducer}. */
export interface ChatState {
  readonly messages: readonly ChatMessage[];
  readonly status: AssistantStatus;
  readonly error: AssistantError | undefined;
  readonly sessionId: string | undefined;
  /** The run being submitted or streamed; cleared by its `final`. */
  readonly activeRunId: string | undefined;
  readonly phase: 'idle' | 'submitting' | 'running' | 'failed';
  readonly connection: ConnectionState;
  /** The last seq applied per run: events at or below it are dropped. */
  readonly lastSeq: Readonly<Record<string, number>>;
  /** What `regenerate` sends again. */
  readonly lastInput: string | undefined;
}

/** @internal Everything that changes {@link ChatState}. */
export type ChatAction =
  | {
      readonly type: 'history_loaded';
      readonly sessionId: string;
      readonly messages: readonly HistoryMessage[];
    }
  | { readonly type: 'input_submitted'; readonly messageId: string; readonly text: string }
  | {
      readonly type: 'run_accepted';
      readonly messageId: string;
      readonly runId: string;
      readonly sessionId: string;
    }
  | { readonly type: 'submit_failed'; readonly error: StewardClientError }
  | { readonly type: 'event_received'; readonly event: StewardEvent }
  | { readonly type: 'connection_changed'; readonly connection: ConnectionState }
  | { readonly type: 'stream_reopened'; readonly runId: string }
  /** A run the history shows unfinished is still under way on the server: stream it from its start. */
  | { readonly type: 'run_resumed'; readonly runId: string }
  | { readonly type: 'stream_failed'; readonly runId: string; readonly error: StewardClientError }
  | { readonly type: 'approval_decided'; readonly approval: ApprovalView }
  | { readonly type: 'input_answered'; readonly answer: InputView }
  | { readonly type: 'input_refused'; readonly requestId: string; readonly error: StewardClientError }
  | { readonly type: 'request_failed'; readonly error: AssistantError };

/** @internal */
export function initialChatState(sessionId?: string): ChatState {
  return {
    messages: [],
    status: 'idle',
    error: undefined,
    sessionId,
    activeRunId: undefined,
    phase: 'idle',
    connection: 'connecting',
    lastSeq: {},
    lastInput: undefined,
  };
}

/** @internal A pure fold: the hook's state after `action`. Unchanged state is returned as is. */
export function chatReducer(state: ChatState, action: ChatAction): ChatState {
  const next = reduce(state, action);
  if (next === state) return state;
  const status = statusOf(next);
  return status === next.status ? next : { ...next, status };
}

/** @internal The calls that wait for the user, oldest first. */
export function pendingApprovalsOf(messages: readonly ChatMessage[]): ToolCard[] {
  return messages.filter(
    (message): message is ToolCard => message.role === 'tool' && message.status === 'awaiting_approval',
  );
}

/** @internal The calls' waits for the user to connect a server, oldest first. */
export function pendingAuthorizationsOf(messages: readonly ChatMessage[]): ToolAuthorization[] {
  return messages.flatMap((message) =>
    message.role === 'tool' && message.authorization?.status === 'pending' ? [message.authorization] : [],
  );
}

function statusOf(state: ChatState): AssistantStatus {
  if (state.phase === 'submitting') return 'submitting';
  if (state.phase === 'failed') return 'error';
  if (state.activeRunId === undefined) return 'idle';
  if (state.connection === 'reconnecting') return 'reconnecting';
  const asking = state.messages.some(
    (message) =>
      message.role === 'tool' &&
      message.runId === state.activeRunId &&
      message.inputRequests.some((request) => request.status === 'pending'),
  );
  if (asking) return 'awaiting_input';
  const waiting = state.messages.some(
    (message) =>
      message.role === 'tool' &&
      message.runId === state.activeRunId &&
      (message.status === 'awaiting_approval' || message.authorization?.status === 'pending'),
  );
  return waiting ? 'awaiting_approval' : 'streaming';
}

function reduce(state: ChatState, action: ChatAction): ChatState {
  switch (action.type) {
    case 'history_loaded': {
      if (action.sessionId !== state.sessionId) return state;
      // Runs already on screen (sent before the history arrived) stay as they are.
      const shown = new Set(state.messages.map((message) => message.runId));
      const earlier = messagesFromHistory(action.messages).filter((message) => !shown.has(message.runId));
      return { ...state, messages: [...earlier, ...state.messages] };
    }
    case 'input_submitted':
      return {
        ...state,
        messages: [
          ...state.messages,
          { role: 'user', id: action.messageId, text: action.text, runId: undefined },
        ],
        activeRunId: undefined,
        phase: 'submitting',
        error: undefined,
        lastInput: action.text,
      };
    case 'run_accepted':
      return {
        ...state,
        messages: state.messages.flatMap((message) => {
          if (message.id === action.messageId && message.role === 'user')
            return [{ ...message, runId: action.runId }];
          // History fetched while the run was being submitted may hold its first messages: the
          // stream brings them again, from seq 1.
          return message.runId === action.runId ? [] : [message];
        }),
        sessionId: action.sessionId,
        activeRunId: action.runId,
        phase: 'running',
        connection: 'connecting',
      };
    case 'submit_failed':
      return { ...state, phase: 'failed', error: action.error };
    case 'event_received':
      return applyEvent(state, action.event);
    case 'connection_changed':
      return action.connection === state.connection ? state : { ...state, connection: action.connection };
    case 'stream_reopened':
      return {
        ...state,
        activeRunId: action.runId,
        phase: 'running',
        connection: 'connecting',
        error: undefined,
      };
    case 'run_resumed': {
      if (state.phase !== 'idle' || state.activeRunId !== undefined) return state;
      return {
        ...state,
        // The stream replays the run from seq 1: what the history already holds of its answer
        // (tool calls of earlier steps) would show twice. The user's message has no event: it stays.
        messages: state.messages.filter(
          (message) => message.runId !== action.runId || message.role === 'user',
        ),
        activeRunId: action.runId,
        phase: 'running',
        connection: 'connecting',
      };
    }
    case 'stream_failed':
      if (action.runId !== state.activeRunId) return state;
      return { ...state, phase: 'failed', error: action.error };
    case 'approval_decided': {
      const { approval } = action;
      const decision =
        approval.status === 'denied' ? 'denied' : approval.status === 'expired' ? 'expired' : 'approved';
      // The REST answer comes before the run's `approval_resolved`: show the decision at once.
      return updateCard(state, approval.call_id, (card) =>
        card.status === 'awaiting_approval' ? { ...card, status: decision } : card,
      );
    }
    case 'input_answered': {
      // The REST answer comes before the run's `input_resolved`: show it resolved at once.
      const { answer } = action;
      const messages = updateInput(state.messages, answer.request_id, (part) =>
        resolveInput(part, answer.action),
      );
      return messages === state.messages ? state : { ...state, messages };
    }
    case 'input_refused':
      return {
        ...state,
        messages: updateInput(state.messages, action.requestId, (part) => refuseInput(part, action.error)),
        error: action.error,
      };
    case 'request_failed':
      return {
        ...state,
        error: action.error,
        phase: state.activeRunId === undefined ? 'failed' : state.phase,
      };
  }
}

function applyEvent(state: ChatState, event: StewardEvent): ChatState {
  const seen = state.lastSeq[event.run_id] ?? 0;
  // The client never yields an event twice; this catches a second stream of the same run.
  if (event.seq <= seen) return state;
  const next: ChatState = { ...state, lastSeq: { ...state.lastSeq, [event.run_id]: event.seq } };
  switch (event.type) {
    case 'run_started':
      return next.sessionId === undefined ? { ...next, sessionId: event.session_id } : next;
    case 'token':
      return appendText(next, event.run_id, event.seq, event.text);
    case 'tool_request':
      return upsertCard(next, event.run_id, event.call_id, event.tool_slug, (card) => ({
        ...card,
        title: event.tool_title,
        annotations: event.annotations,
        args: event.args,
        requireConfirmation: event.require_confirmation,
      }));
    case 'input_required':
      return upsertCard(next, event.run_id, event.call_id, event.tool_slug, (card) =>
        card.inputRequests.some((request) => request.requestId === event.request_id)
          ? card
          : { ...card, inputRequests: [...card.inputRequests, inputRequestOf(event)] },
      );
    case 'input_resolved':
      return {
        ...next,
        messages: updateInput(next.messages, event.request_id, (part) => resolveInput(part, event.action)),
      };
    case 'approval_required':
      return upsertCard(next, event.run_id, event.call_id, event.tool_slug, (card) => ({
        ...card,
        args: event.args,
        status: 'awaiting_approval',
        requireConfirmation: true,
        approval: {
          reason: event.reason,
          expiresAt: event.expires_at,
          argsHash: event.args_hash,
          decidedBy: undefined,
          decisionReason: undefined,
        },
      }));
    case 'approval_resolved':
      return upsertCard(next, event.run_id, event.call_id, event.tool_slug, (card) => ({
        ...card,
        status: event.decision,
        ...(card.approval === undefined
          ? {}
          : {
              approval: { ...card.approval, decidedBy: event.decided_by, decisionReason: event.reason },
            }),
      }));
    case 'authorization_required':
      return upsertCard(next, event.run_id, event.call_id, event.tool_slug, (card) => ({
        ...card,
        authorization: {
          runId: event.run_id,
          callId: event.call_id,
          toolSlug: event.tool_slug,
          server: event.server,
          authorizationUrl: event.authorization_url,
          expiresAt: event.expires_at,
          scopes: event.scopes,
          status: 'pending',
        },
      }));
    case 'authorization_resolved':
      return updateCard(next, event.call_id, (card) =>
        card.authorization === undefined
          ? card
          : { ...card, authorization: { ...card.authorization, status: event.outcome } },
      );
    case 'tool_progress':
      return upsertCard(next, event.run_id, event.call_id, event.tool_slug, (card) => ({
        ...card,
        progress: { progress: event.progress, total: event.total, message: event.message },
      }));
    case 'tool_result':
      return upsertCard(next, event.run_id, event.call_id, event.tool_slug, (card) => {
        const error =
          event.error === undefined ? undefined : { code: event.error.code, message: event.error.message };
        const status =
          card.status === 'denied' || card.status === 'expired'
            ? card.status
            : error === undefined
              ? 'succeeded'
              : statusOfError(error);
        return {
          ...card,
          status,
          result: event.result,
          resourceLinks: (event.resource_links ?? []).map(({ mime_type, ...link }) => ({
            ...link,
            ...(mime_type === undefined ? {} : { mimeType: mime_type }),
          })),
          error,
          durationMs: event.duration_ms,
        };
      });
    case 'error':
      return { ...next, error: event };
    case 'final':
      return finishRun(next, event.run_id, event.seq, event.text, event.partial, event.stop_reason);
    case 'usage':
      return next;
  }
}

function appendText(state: ChatState, runId: string, seq: number, text: string): ChatState {
  const index = lastIndexOfRun(state.messages, runId);
  const last = state.messages[index];
  if (last?.role === 'assistant') {
    return { ...state, messages: replaceAt(state.messages, index, { ...last, text: last.text + text }) };
  }
  const message: AssistantChatMessage = {
    role: 'assistant',
    id: `${runId}:${seq}`,
    runId,
    text,
    streaming: true,
    partial: false,
  };
  return { ...state, messages: insertAt(state.messages, index + 1, message) };
}

function finishRun(
  state: ChatState,
  runId: string,
  seq: number,
  text: string,
  partial: boolean,
  stopReason: string,
): ChatState {
  let messages = state.messages;
  const answered = messages.some((message) => message.role === 'assistant' && message.runId === runId);
  // Tokens carry the whole text; `final` alone brings it only when the tokens were never seen.
  if (!answered && text !== '') messages = appendText({ ...state, messages }, runId, seq, text).messages;
  const lastText = lastIndexOfRun(messages, runId, 'assistant');
  messages = messages.map((message, index) => {
    if (message.runId !== runId) return message;
    if (message.role === 'assistant')
      return { ...message, streaming: false, partial: partial && index === lastText };
    // A call still waiting when its run ended (stopped, timed out) can no longer be approved,
    // nor what it asked be answered.
    if (message.role === 'tool') return cancelOpenInputs(endWaits(message));
    return message;
  });
  if (runId !== state.activeRunId) return { ...state, messages };
  // A stopped run is the user's choice, not a failure; other cut-short endings come with an `error` event.
  const failed = partial && stopReason !== 'aborted';
  return { ...state, messages, activeRunId: undefined, phase: failed ? 'failed' : 'idle' };
}

/** A card whose run ended: what it waited for (a decision, a connection) can no longer come. */
function endWaits(card: ToolCard): ToolCard {
  const status = card.status === 'awaiting_approval' ? 'expired' : card.status;
  const authorization =
    card.authorization?.status === 'pending'
      ? { ...card.authorization, status: 'expired' as const }
      : card.authorization;
  return status === card.status && authorization === card.authorization
    ? card
    : { ...card, status, authorization };
}

function upsertCard(
  state: ChatState,
  runId: string,
  callId: string,
  toolSlug: string,
  change: (card: ToolCard) => ToolCard,
): ChatState {
  const index = state.messages.findIndex((message) => message.role === 'tool' && message.callId === callId);
  if (index !== -1) return updateCard(state, callId, change);
  const card = newToolCard(runId, callId, toolSlug, undefined);
  return {
    ...state,
    messages: insertAt(state.messages, lastIndexOfRun(state.messages, runId) + 1, change(card)),
  };
}

function updateCard(state: ChatState, callId: string, change: (card: ToolCard) => ToolCard): ChatState {
  const index = state.messages.findIndex((message) => message.role === 'tool' && message.callId === callId);
  const card = state.messages[index];
  if (card?.role !== 'tool') return state;
  const changed = change(card);
  return changed === card ? state : { ...state, messages: replaceAt(state.messages, index, changed) };
}

/** The index of the run's last message (of `role`, when given), or of the last message overall when it has none. */
function lastIndexOfRun(messages: readonly ChatMessage[], runId: string, role?: ChatMessage['role']): number {
  for (let index = messages.length - 1; index >= 0; index--) {
    const message = messages[index] as ChatMessage;
    if (message.runId === runId && (role === undefined || message.role === role)) return index;
  }
  return role === undefined ? messages.length - 1 : -1;
}

function replaceAt<T>(items: readonly T[], index: number, item: T): T[] {
  const copy = items.slice();
  copy[index] = item;
  return copy;
}

function insertAt<T>(items: readonly T[], index: number, item: T): T[] {
  return [...items.slice(0, index), item, ...items.slice(index)];
}
