import type { ApprovalRecord, InputRequiredEvent, RunRecord, StoredMessage, ToolCall } from '@steward/core';
import { formFields, type InputFieldView } from '../../public/input-form.js';
import {
  describeToolError,
  endingWords,
  humanize,
  statusWords,
  summarizeArguments,
  summarizeResult,
  toolTitle,
} from '../../public/tool-words.js';

/** One tool card as the page renders it. */
export interface ToolCardView {
  readonly callId: string;
  readonly title: string;
  readonly server: string;
  readonly statusKey: string;
  readonly status: string;
  readonly args: readonly [string, string][];
  readonly rawArgs: string;
  readonly result?: readonly string[];
  readonly approval: boolean;
  /** A request for input of the tool, still open: its form (or link), for the page without script. */
  readonly input?: InputCardView;
  /** The call waits for the user to connect the tool's server (OAuth). */
  readonly connect?: ConnectCardView;
}

/** A call's wait for its user to connect the server, as its card renders it. */
export interface ConnectCardView {
  readonly callId: string;
  readonly anchor: string;
  readonly server: string;
  readonly toolTitle: string;
  readonly href: string;
}

/** An approval record of kind `authorization` (core's records gain `kind`; consent is the default). */
const isAuthorization = (approval: ApprovalRecord) =>
  (approval as { readonly kind?: string }).kind === 'authorization';

/** A tool's open request for input as its card renders it. */
export interface InputCardView {
  readonly runId: string;
  readonly requestId: string;
  readonly idPrefix: string;
  readonly server: string;
  readonly message: string;
  readonly mode: 'form' | 'url';
  readonly url?: string;
  readonly fields: readonly InputFieldView[];
}

/** The card's view of an open request for input. */
export function inputCardView(event: InputRequiredEvent, index: number): InputCardView {
  const idPrefix = `input-${index}`;
  return {
    runId: event.run_id,
    requestId: event.request_id,
    idPrefix,
    server: humanize(event.server),
    message: event.message,
    mode: event.mode,
    ...(event.url === undefined ? {} : { url: event.url }),
    fields: event.mode === 'form' ? formFields(event.requested_schema, idPrefix) : [],
  };
}

/** A user message and the assistant's answer to it (text and tool cards, in order). */
export interface TurnView {
  readonly user?: string;
  readonly runId?: string;
  readonly live: boolean;
  readonly parts: readonly { text?: string; partial?: boolean; card?: ToolCardView }[];
  readonly ending?: { readonly reason: string; readonly text: string; readonly problem: boolean };
}

interface ToolResultMessage {
  content: string;
  result?: unknown;
  isError?: boolean;
}

function parsed(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The stored tool message's structured result, or its text read back as JSON when it has none. */
export function toolMessageResult(message: { content: string; result?: unknown }): unknown {
  return message.result !== undefined ? message.result : parsed(message.content);
}

function card(
  call: ToolCall,
  result: ToolResultMessage | undefined,
  pending: boolean,
  titles: Readonly<Record<string, string>>,
  input: InputCardView | undefined,
  connecting: ApprovalRecord | undefined,
): ToolCardView {
  const args = parsed(call.arguments);
  const { title, server } = toolTitle(call.name, titles[call.name]);
  const connectServer = (connecting as { readonly server?: string } | undefined)?.server;
  const connect: ConnectCardView | undefined =
    connecting === undefined
      ? undefined
      : {
          callId: call.callId,
          anchor: `connect-${call.callId.replace(/[^A-Za-z0-9_-]/g, '_')}`,
          server: connectServer === undefined ? server : humanize(connectServer),
          toolTitle: title,
          href: `/connections/authorize?${new URLSearchParams({ call_id: call.callId })}`,
        };
  const outcome = result === undefined ? undefined : toolMessageResult(result);
  const error = result?.isError === true ? (outcome as { error?: { code?: string } }).error : undefined;
  const statusKey = pending
    ? 'waiting'
    : connect !== undefined
      ? 'needs_connection'
      : input !== undefined
        ? 'needs_input'
        : result === undefined
          ? 'no_result'
          : result.isError !== true
            ? 'done'
            : error?.code === 'tool_denied'
              ? 'denied'
              : 'error';
  return {
    callId: call.callId,
    title,
    server,
    statusKey,
    status: statusWords[statusKey] ?? statusKey,
    args: summarizeArguments(args),
    rawArgs: typeof args === 'string' ? args : JSON.stringify(args, null, 2),
    ...(result === undefined
      ? {}
      : { result: result.isError === true ? [describeToolError(error)] : summarizeResult(outcome) }),
    approval: pending,
    ...(input === undefined ? {} : { input }),
    ...(connect === undefined ? {} : { connect }),
  };
}

/** How a run that ended other than normally reads at its end. */
function endingOf(run: RunRecord | undefined): TurnView['ending'] {
  if (run === undefined || run.status === 'running' || run.status === 'awaiting_approval') return undefined;
  const reason = run.stopReason ?? (run.status === 'completed' ? 'stop' : run.status);
  if (reason === 'stop') return undefined;
  return {
    reason,
    text: endingWords[reason] ?? 'The answer ended early.',
    problem: reason !== 'aborted',
  };
}

/**
 * The conversation's turns from its stored messages, the runs' records, the pending approvals
 * and the active run's open requests for input.
 */
export function buildTurns(
  history: readonly StoredMessage[],
  runs: ReadonlyMap<string, RunRecord>,
  pending: readonly ApprovalRecord[],
  titles: Readonly<Record<string, string>>,
  activeRunId: string | undefined,
  inputs: readonly InputRequiredEvent[] = [],
): TurnView[] {
  // A call asks one thing at a time; the newest request of a call is the one its card shows.
  const inputOf = new Map(inputs.map((event, index) => [event.call_id, inputCardView(event, index)]));
  const groups: { runId: string; messages: StoredMessage[] }[] = [];
  for (const stored of history) {
    const last = groups.at(-1);
    if (last !== undefined && last.runId === stored.runId) last.messages.push(stored);
    else groups.push({ runId: stored.runId, messages: [stored] });
  }
  const waiting = new Set(
    pending.filter((approval) => !isAuthorization(approval)).map((approval) => approval.callId),
  );
  const connecting = new Map(
    pending.filter(isAuthorization).map((approval) => [approval.callId, approval] as const),
  );
  return groups.map(({ runId, messages }) => {
    const results = new Map<string, ToolResultMessage>();
    for (const { message } of messages) if (message.role === 'tool') results.set(message.callId, message);
    const user = messages.find(({ message }) => message.role === 'user')?.message;
    const parts: { text?: string; partial?: boolean; card?: ToolCardView }[] = [];
    for (const { message } of messages) {
      if (message.role !== 'assistant') continue;
      if (message.content !== '') parts.push({ text: message.content, partial: message.partial === true });
      for (const call of message.toolCalls ?? [])
        parts.push({
          card: card(
            call,
            results.get(call.callId),
            waiting.has(call.callId),
            titles,
            inputOf.get(call.callId),
            connecting.get(call.callId),
          ),
        });
    }
    const ending = endingOf(runs.get(runId));
    return {
      ...(user?.role === 'user' ? { user: user.content } : {}),
      runId,
      live: runId === activeRunId,
      parts,
      ...(ending === undefined ? {} : { ending }),
    };
  });
}
