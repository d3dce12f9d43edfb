import { StewardError, toStewardError } from '../errors/steward-error.ts';
import type { ResourceLinkPayload, StewardEventInput, ToolErrorPayload } from '../events/stream-event.ts';
import { abortReasonToError, raceAbort } from '../internal/abort.ts';
import { renderToolContent } from '../internal/json.ts';
import { toStorableText, toStorableValue } from '../internal/storable-text.ts';
import type { ToolCall, ToolMessage } from '../model/message.ts';
import type { RunTracing } from '../telemetry/run-tracing.ts';
import type { InputRequest, InputResponse } from '../tools/input-request.ts';
import type { ResourceLink } from '../tools/tool-provider.ts';
import type { InputCall } from './input-waiters.ts';
import { PausableTimer } from './pausable-timer.ts';
import type { CatalogEntry } from './tool-catalog.ts';

/** @internal What calling one provider needs from the run. */
export interface InvokeContext {
  readonly runId: string;
  readonly sessionId: string;
  readonly userId: string;
  readonly toolTimeoutMs: number;
  readonly maxToolResultChars: number;
  readonly signal: AbortSignal;
  readonly emit: (event: StewardEventInput) => void;
  /** The run's clock, milliseconds since the epoch. */
  readonly now: () => number;
  /** Asks the run's user for input on behalf of a call (see `ToolCallContext.requestInput`). */
  readonly requestInput: (call: InputCall, request: InputRequest) => Promise<InputResponse>;
  /** Spans of the run's tool calls. */
  readonly tracing: RunTracing;
}

/**
 * @internal Calls the provider with the run's signal and a per-call timeout (which does not tick
 * while the tool waits for the user's input), turning progress into `tool_progress` events.
 * Throws a typed error; never starts after the run stopped.
 */
export async function invokeProvider(
  context: InvokeContext,
  entry: CatalogEntry,
  call: ToolCall,
  args: unknown,
): Promise<unknown> {
  if (context.signal.aborted) {
    // The run stopped while consent was decided: a side effect must not start now.
    throw abortReasonToError(context.signal.reason, 'run_timeout', `Tool ${call.name}`);
  }
  const timeout = new AbortController();
  const timer = new PausableTimer(
    context.toolTimeoutMs,
    () => timeout.abort(new DOMException('The tool call timed out', 'TimeoutError')),
    context.now,
  );
  const signal = AbortSignal.any([context.signal, timeout.signal]);
  // Ends with the call: a request for input still open then (or made later) is cancelled.
  const callEnded = new AbortController();
  const inputSignal = AbortSignal.any([signal, callEnded.signal]);
  let settled = false;
  try {
    const pending = entry.provider.callTool(call.name, args, {
      signal,
      runId: context.runId,
      sessionId: context.sessionId,
      userId: context.userId,
      callId: call.callId,
      reportProgress: (progress) => {
        // Late reports (after the call ended) are dropped; only the documented fields are copied.
        if (settled || signal.aborted || typeof progress?.progress !== 'number') return;
        context.emit({
          type: 'tool_progress',
          call_id: call.callId,
          tool_slug: call.name,
          progress: progress.progress,
          ...(typeof progress.total === 'number' ? { total: progress.total } : {}),
          ...(typeof progress.message === 'string' ? { message: toStorableText(progress.message) } : {}),
        });
      },
      requestInput: (request, options) =>
        context.requestInput(
          {
            callId: call.callId,
            toolSlug: call.name,
            provider: entry.provider.name,
            signal:
              options?.signal instanceof AbortSignal
                ? AbortSignal.any([inputSignal, options.signal])
                : inputSignal,
            holdTimeout: () => timer.hold(),
          },
          request,
        ),
    });
    return await raceAbort(Promise.resolve(pending), signal);
  } catch (error) {
    if (signal.aborted) throw abortReasonToError(signal.reason, 'tool_timeout', `Tool ${call.name}`);
    throw toStewardError(error, 'tool_execution_failed');
  } finally {
    settled = true;
    timer.clear();
    callEnded.abort();
  }
}

/**
 * @internal The `tool_result` event and tool message of a result. What the model reads is
 * bounded; the structured result travels in events and history only when it fits, and always
 * as plain JSON (what a transport would send), never as live objects. NUL and lone surrogates
 * (a local or MCP tool may return either; no storage keeps them) become U+FFFD, as in model text.
 */
export function resultMessage(
  context: InvokeContext,
  call: ToolCall,
  value: unknown,
  durationMs: number,
  links: readonly ResourceLink[] = [],
): ToolMessage {
  let json: string;
  try {
    json = typeof value === 'string' ? toStorableText(value) : (JSON.stringify(value) ?? 'null');
  } catch (error) {
    const invalid = new StewardError(
      'tool_invalid_output',
      `${call.name} returned a value that is not JSON`,
      { cause: error },
    );
    return errorMessage(context, call, invalid, durationMs);
  }
  const fits = json.length <= context.maxToolResultChars;
  let result: unknown = json;
  if (fits && typeof value !== 'string') {
    const parsed: unknown = JSON.parse(json);
    result = toStorableValue(parsed);
    // The model reads U+FFFD too, not the JSON escape of what was replaced.
    if (result !== parsed) json = JSON.stringify(result);
  }
  const resourceLinks = linkPayloads(links);
  context.emit({
    type: 'tool_result',
    call_id: call.callId,
    tool_slug: call.name,
    result: fits ? result : renderToolContent(json, context.maxToolResultChars),
    ...(resourceLinks.length === 0 ? {} : { resource_links: resourceLinks }),
    duration_ms: durationMs,
  });
  return {
    role: 'tool',
    callId: call.callId,
    toolName: call.name,
    content: renderToolContent(json, context.maxToolResultChars),
    ...(fits ? { result } : {}),
  };
}

const maxLinks = 100;
const linkText = (value: unknown, max: number) =>
  typeof value === 'string' ? toStorableText(value.slice(0, max)) : undefined;

/** The links a tool returned, as events carry them: the documented fields only, bounded. */
function linkPayloads(links: readonly ResourceLink[]): ResourceLinkPayload[] {
  const payloads: ResourceLinkPayload[] = [];
  for (const link of links.slice(0, maxLinks)) {
    const uri = linkText(link?.uri, 8_192);
    const name = linkText(link?.name, 1_000);
    if (uri === undefined || name === undefined) continue;
    const title = linkText(link.title, 1_000);
    const description = linkText(link.description, 4_000);
    const mimeType = linkText(link.mimeType, 256);
    payloads.push({
      uri,
      name,
      ...(title === undefined ? {} : { title }),
      ...(description === undefined ? {} : { description }),
      ...(mimeType === undefined ? {} : { mime_type: mimeType }),
    });
  }
  return payloads;
}

/** @internal The `tool_result` event and tool message of a failed call: the model reads the error. */
export function errorMessage(
  context: InvokeContext,
  call: ToolCall,
  failure: StewardError,
  durationMs: number,
): ToolMessage {
  const error =
    failure.code === 'authorization_required' ? modelSafeAuthorizationError(call, failure) : failure;
  // A tool's error text (an MCP `isError` result, an exception) may hold what its output would.
  const payload: ToolErrorPayload = toStorableValue({
    code: error.code,
    message: error.message,
    ...(Object.keys(error.details).length === 0 ? {} : { details: error.details }),
  });
  context.emit({
    type: 'tool_result',
    call_id: call.callId,
    tool_slug: call.name,
    error: payload,
    duration_ms: durationMs,
  });
  return {
    role: 'tool',
    callId: call.callId,
    toolName: call.name,
    content: renderToolContent({ error: payload }, context.maxToolResultChars),
    isError: true,
  };
}

/**
 * @internal What the model reads of an authorization the run could not wait for: which server,
 * never the authorization URL or its state (they are the user's to use, not the model's to repeat).
 */
export function modelSafeAuthorizationError(call: ToolCall, error: StewardError): StewardError {
  const server =
    typeof error.details.server === 'string'
      ? toStorableText(error.details.server.slice(0, 256))
      : 'its server';
  return new StewardError(
    'authorization_required',
    `${call.name} needs the user to connect ${server} first; it did not run`,
  );
}
