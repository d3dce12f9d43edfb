import type { StewardErrorCode } from '../errors/error-codes.ts';
import type { InputAction, RequestedSchema } from '../tools/input-request.ts';
import type { ToolAnnotations } from '../tools/tool-provider.ts';
import type { Usage } from './usage.ts';

/**
 * Why a run ended.
 * - `stop`: the model finished its answer.
 * - `length`: the model hit `maxOutputTokens`.
 * - `content_filter`: the provider filtered the answer.
 * - `max_steps`: the model still wanted tools after `maxSteps` model calls.
 * - `aborted`: `run.abort()` or the caller's signal stopped it.
 * - `timeout`: `runTimeoutMs` passed.
 * - `stalled`: the model stream went silent for `stallTimeoutMs`.
 * - `interrupted`: the instance running it died (found by `assistant.recoverInterruptedRuns()`).
 * - `error`: a failure the run could not recover from (see the `error` event before `final`).
 */
export type StopReason =
  | 'stop'
  | 'length'
  | 'content_filter'
  | 'max_steps'
  | 'aborted'
  | 'timeout'
  | 'stalled'
  | 'interrupted'
  | 'error';

/** Fields every event carries: the run, a gap-free sequence number from 1, and an ISO-8601 timestamp. */
export interface EventBase {
  readonly run_id: string;
  readonly seq: number;
  readonly timestamp: string;
}

/** The error half of a `tool_result`: what the model is told went wrong. */
export interface ToolErrorPayload {
  readonly code: StewardErrorCode;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * The run was admitted and is about to call the model: the first event (`seq` 1). A run refused
 * at admission (`session_busy`, `rate_limited`, `session_not_found`) has only `error` and `final`.
 */
export interface RunStartedEvent extends EventBase {
  readonly type: 'run_started';
  readonly session_id: string;
  readonly user_id: string;
}
/** A piece of the answer's text, in order. */
export interface TokenEvent extends EventBase {
  readonly type: 'token';
  readonly text: string;
}
/** The model asked for a tool. `require_confirmation` is true when the call waits for the user's consent. */
export interface ToolRequestEvent extends EventBase {
  readonly type: 'tool_request';
  readonly call_id: string;
  readonly tool_slug: string;
  readonly args: unknown;
  readonly require_confirmation: boolean;
  /** The tool's name for people (MCP's `title`), when it has one. */
  readonly tool_title?: string;
  /** The tool's behaviour hints as its provider gave them (untrusted: consent never relies on them). */
  readonly annotations?: ToolAnnotations;
}
/** A side-effect call waits for the user: show a confirmation card, then `approve` or `deny` `call_id`. */
export interface ApprovalRequiredEvent extends EventBase {
  readonly type: 'approval_required';
  readonly call_id: string;
  readonly tool_slug: string;
  readonly args: unknown;
  /** SHA-256 of the canonical arguments: the approval applies to exactly these. */
  readonly args_hash: string;
  readonly expires_at: string;
  readonly reason: string;
}
/** The run picked up the user's decision (or the approval expired). */
export interface ApprovalResolvedEvent extends EventBase {
  readonly type: 'approval_resolved';
  readonly call_id: string;
  readonly tool_slug: string;
  readonly decision: 'approved' | 'denied' | 'expired';
  readonly decided_by?: string;
  readonly reason?: string;
}
/** A running tool reported progress. */
export interface ToolProgressEvent extends EventBase {
  readonly type: 'tool_progress';
  readonly call_id: string;
  readonly tool_slug: string;
  readonly progress: number;
  readonly total?: number;
  readonly message?: string;
}
/** A link a tool returned (MCP `resource_link` content), for a UI to render. */
export interface ResourceLinkPayload {
  readonly uri: string;
  readonly name: string;
  readonly title?: string;
  readonly description?: string;
  readonly mime_type?: string;
}
/**
 * A tool call ended: `result` when it succeeded, `error` when it did not (the model sees either).
 * `result` is an MCP tool's `structuredContent` when it gave one, else its text (or its content
 * blocks when they are not all text); `resource_links` are the links among its content.
 */
export interface ToolResultEvent extends EventBase {
  readonly type: 'tool_result';
  readonly call_id: string;
  readonly tool_slug: string;
  readonly result?: unknown;
  readonly error?: ToolErrorPayload;
  readonly resource_links?: readonly ResourceLinkPayload[];
  readonly duration_ms: number;
}
/**
 * A running tool asks the user for input (MCP elicitation): in `form` mode, fill in the fields of
 * `requested_schema`; in `url` mode, open `url` (show it in full; never open it unasked). Answer
 * with `assistant.respondToInput(run_id, request_id, …)` before `expires_at`, or it is cancelled.
 */
export interface InputRequiredEvent extends EventBase {
  readonly type: 'input_required';
  readonly request_id: string;
  readonly call_id: string;
  readonly tool_slug: string;
  /** Who asks: the MCP server's name, or the tool provider's. */
  readonly server: string;
  readonly message: string;
  readonly mode: 'form' | 'url';
  readonly requested_schema?: RequestedSchema;
  readonly url?: string;
  readonly expires_at: string;
}
/** The request was answered (`accept`, `decline`), cancelled, timed out (`cancel`), or its run stopped (`cancel`). Never the content. */
export interface InputResolvedEvent extends EventBase {
  readonly type: 'input_resolved';
  readonly request_id: string;
  readonly call_id: string;
  readonly action: InputAction;
}
/**
 * A tool call needs the run's user to connect their account on its server (OAuth) before it can
 * run. The run pauses, like for an approval (status `awaiting_approval`): show a "Connect" card
 * that opens `authorization_url` (in full; never open it unasked). The OAuth callback completes
 * it (`assistant.completeAuthorization`); past `expires_at` the call fails instead. The model
 * never sees the URL.
 */
export interface AuthorizationRequiredEvent extends EventBase {
  readonly type: 'authorization_required';
  readonly call_id: string;
  readonly tool_slug: string;
  /** The server to connect (the MCP server's name). */
  readonly server: string;
  readonly authorization_url: string;
  readonly expires_at: string;
  /** The scopes asked for, when the server said. */
  readonly scopes?: readonly string[];
}
/**
 * The run picked up the end of an authorization: `connected` (the call runs now), `declined`
 * (the user said no, or the authorization failed) or `expired` (nobody completed it in time);
 * the model hears the last two as `tool_authorization_declined`.
 */
export interface AuthorizationResolvedEvent extends EventBase {
  readonly type: 'authorization_resolved';
  readonly call_id: string;
  readonly tool_slug: string;
  readonly server: string;
  readonly outcome: AuthorizationOutcome | 'expired';
}
/** How a user ended an authorization: they connected, or they declined (or it failed). */
export type AuthorizationOutcome = 'connected' | 'declined';
/** Token usage of one model call (`step`), and the run's total so far. */
export interface UsageEvent extends EventBase, Usage {
  readonly type: 'usage';
  readonly step: number;
  readonly total: Usage;
}
/** Something went wrong. The run may go on (a retry) or end with `final` next. */
export interface ErrorEvent extends EventBase {
  readonly type: 'error';
  readonly code: StewardErrorCode;
  readonly message: string;
  readonly retryable: boolean;
}
/** The run ended. Always the last event; `partial` marks an answer cut short (stall, abort, timeout). */
export interface FinalEvent extends EventBase {
  readonly type: 'final';
  readonly text: string;
  readonly usage: Usage;
  readonly stop_reason: StopReason;
  readonly partial: boolean;
}

/** Every event a run emits, discriminated on `type`. These are the wire frames transports send as they are. */
export type StewardEvent =
  | RunStartedEvent
  | TokenEvent
  | ToolRequestEvent
  | ApprovalRequiredEvent
  | ApprovalResolvedEvent
  | ToolProgressEvent
  | ToolResultEvent
  | InputRequiredEvent
  | InputResolvedEvent
  | AuthorizationRequiredEvent
  | AuthorizationResolvedEvent
  | UsageEvent
  | ErrorEvent
  | FinalEvent;

/** The `type` of every {@link StewardEvent}. */
export type StewardEventType = StewardEvent['type'];

/** An event as the run loop creates it, before `run_id`, `seq` and `timestamp` are stamped on. */
export type StewardEventInput = StewardEvent extends infer E
  ? E extends StewardEvent
    ? Omit<E, keyof EventBase>
    : never
  : never;
