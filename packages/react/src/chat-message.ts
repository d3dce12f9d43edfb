import type { InputAction, RequestedSchema, ResourceLink, ToolAnnotations } from '@steward/core';
import type { StewardClientError } from '@steward/transport-ws/client';

/** A message the user sent. */
export interface UserChatMessage {
  readonly role: 'user';
  /** Stable across renders: use it as the React `key`. */
  readonly id: string;
  readonly text: string;
  /** The run this input started; `undefined` while `POST /respond` is in flight or after it failed. */
  readonly runId: string | undefined;
}

/**
 * The assistant's text between tool calls. A run that calls tools shows as several of these with
 * {@link ToolCard}s in between, in the order the model produced them.
 */
export interface AssistantChatMessage {
  readonly role: 'assistant';
  readonly id: string;
  readonly runId: string;
  /** Grows token by token while the run streams. */
  readonly text: string;
  /** True until the run's `final` event. */
  readonly streaming: boolean;
  /** The answer was cut short (stopped, timed out, failed); the text so far is kept. */
  readonly partial: boolean;
}

/**
 * Where a tool call stands:
 * `requested` → (`awaiting_approval` → `approved` | `denied` | `expired`) → `succeeded` | `failed`.
 * A call that asks the user for input stays `requested` (or `approved`) meanwhile; its
 * {@link ToolCard.inputRequests} say what it asked.
 * A denied or expired call keeps that status; its {@link ToolCard.error} says what the model was told.
 */
export type ToolCardStatus =
  | 'requested'
  | 'awaiting_approval'
  | 'approved'
  | 'denied'
  | 'expired'
  | 'succeeded'
  | 'failed';

/** The consent request behind a call that needs the user's approval. */
export interface ToolApproval {
  /** Why the call needs consent, for the confirmation card. */
  readonly reason: string;
  /** ISO-8601: after this the call is `expired`. */
  readonly expiresAt: string;
  /** SHA-256 of the canonical arguments: the approval applies to exactly these. */
  readonly argsHash: string;
  /** Who decided, once the run picked the decision up. */
  readonly decidedBy: string | undefined;
  /** The reason given with a denial. */
  readonly decisionReason: string | undefined;
}

/** What a tool reported while running. */
export interface ToolProgress {
  readonly progress: number;
  readonly total: number | undefined;
  readonly message: string | undefined;
}

/** Why a call failed, as the model was told. `code` is a `StewardErrorCode` when the server sent one. */
export interface ToolCardError {
  readonly code: string | undefined;
  readonly message: string;
}

/** One tool call, from its request to its result: render it as a card. */
export interface ToolCard {
  readonly role: 'tool';
  readonly id: string;
  readonly runId: string;
  /** Pass it to `approve` and `deny`. */
  readonly callId: string;
  readonly toolSlug: string;
  /** The tool's name for people, when its server gave one: show it instead of `toolSlug`. */
  readonly title: string | undefined;
  /** The tool's behaviour hints as its server gave them (untrusted: display only). */
  readonly annotations: ToolAnnotations | undefined;
  readonly args: unknown;
  readonly status: ToolCardStatus;
  /** The call waits for (or waited for) the user's consent. */
  readonly requireConfirmation: boolean;
  readonly approval: ToolApproval | undefined;
  readonly progress: ToolProgress | undefined;
  /** The structured output of a call that succeeded. */
  readonly result: unknown;
  /** Links to resources the tool returned (MCP `resource_link`s), to render as links. */
  readonly resourceLinks: readonly ResourceLink[];
  /** What the tool asked the user while it ran, in order: the open ones wait for `respondToInput`. */
  readonly inputRequests: readonly ToolInputRequest[];
  /** The call waits (or waited) for the user to connect its server: show a "Connect" card while `pending`. */
  readonly authorization: ToolAuthorization | undefined;
  readonly error: ToolCardError | undefined;
  readonly durationMs: number | undefined;
}

/**
 * A tool's request for the user's input mid-call (MCP elicitation), a part of its {@link ToolCard}:
 * in `form` mode render the fields of `requestedSchema` (pre-filled with their `default`s); in
 * `url` mode show `url` in full and let the user choose to open it. Answer with
 * `respondToInput(requestId, { action, content? })`.
 */
export interface ToolInputRequest {
  readonly runId: string;
  /** Pass it to `respondToInput`. */
  readonly requestId: string;
  /** The call that asks: the card this request is part of. */
  readonly callId: string;
  readonly toolSlug: string;
  /** Who asks: the MCP server's name. */
  readonly server: string;
  readonly message: string;
  readonly mode: 'form' | 'url';
  readonly requestedSchema: RequestedSchema | undefined;
  readonly url: string | undefined;
  /** ISO-8601: unanswered by then, the request is cancelled. */
  readonly expiresAt: string;
  /** `pending` until answered, cancelled, timed out or its run ended; then `resolved`, with `action`. */
  readonly status: 'pending' | 'resolved';
  readonly action: InputAction | undefined;
  /**
   * Why the last answer was refused, e.g. `invalid_input` with `details.issues` naming each field
   * (`content.<field>`); the request stays pending for a corrected answer.
   */
  readonly error: StewardClientError | undefined;
}

/**
 * A call's wait for the user to connect their account on its server (OAuth), a part of its
 * {@link ToolCard}: while `pending`, offer a "Connect {server}" button that opens
 * `authorizationUrl` (in a new tab; never unasked). The server's OAuth callback completes it and
 * the run goes on; `connected`, `declined` or `expired` once the run picked that up (or ended).
 */
export interface ToolAuthorization {
  readonly runId: string;
  readonly callId: string;
  readonly toolSlug: string;
  /** The server to connect, e.g. `gmail`. */
  readonly server: string;
  readonly authorizationUrl: string;
  /** ISO-8601: not completed by then, the call fails. */
  readonly expiresAt: string;
  readonly scopes: readonly string[] | undefined;
  readonly status: 'pending' | 'connected' | 'declined' | 'expired';
}

/** One item of the conversation, in display order. Switch on `role`. */
export type ChatMessage = UserChatMessage | AssistantChatMessage | ToolCard;
