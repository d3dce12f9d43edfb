import type { ConsentDecision, ConsentPolicy } from '../consent/consent-policy.ts';
import { StewardError, toStewardError } from '../errors/steward-error.ts';
import type { StewardEventInput, ToolErrorPayload } from '../events/stream-event.ts';
import { abortReasonToError, raceAbort } from '../internal/abort.ts';
import { parseToolArguments, renderToolContent } from '../internal/json.ts';
import type { ToolCall, ToolMessage } from '../model/message.ts';
import type { CatalogEntry, ToolCatalog } from './tool-catalog.ts';

/** @internal What a batch of tool calls needs from its run. */
export interface ToolExecutionContext {
  readonly catalog: ToolCatalog;
  readonly consent: ConsentPolicy;
  readonly runId: string;
  readonly sessionId: string;
  readonly userId: string;
  readonly toolTimeoutMs: number;
  readonly maxToolResultChars: number;
  readonly signal: AbortSignal;
  readonly emit: (event: StewardEventInput) => void;
}

type Prepared =
  | {
      readonly call: ToolCall;
      readonly args: unknown;
      readonly entry: CatalogEntry;
      readonly decision: ConsentDecision;
    }
  | { readonly call: ToolCall; readonly args: unknown; readonly error: StewardError };

/**
 * @internal Runs one step's tool calls: all `tool_request`s first, in the model's order, then
 * the calls concurrently, each `tool_result` as soon as its call ends. Returns one tool message
 * per call, in call order, even for calls that failed or were cut off, so the history never
 * holds a call without its answer.
 */
export async function executeToolCalls(
  context: ToolExecutionContext,
  calls: readonly ToolCall[],
): Promise<ToolMessage[]> {
  const prepared = await Promise.all(calls.map((call) => prepare(context, call)));
  for (const item of prepared) {
    context.emit({
      type: 'tool_request',
      call_id: item.call.callId,
      tool_slug: item.call.name,
      args: item.args,
      require_confirmation: 'decision' in item && item.decision.type === 'confirm',
    });
  }
  return Promise.all(prepared.map((item) => runOne(context, item)));
}

async function prepare(context: ToolExecutionContext, call: ToolCall): Promise<Prepared> {
  let args: unknown;
  try {
    args = parseToolArguments(call.arguments, call.name);
  } catch (error) {
    return { call, args: call.arguments, error: toStewardError(error, 'tool_invalid_arguments') };
  }
  const entry = context.catalog.get(call.name);
  if (entry === undefined) {
    return {
      call,
      args,
      error: new StewardError('tool_not_found', `No tool named "${call.name}" is offered in this run`),
    };
  }
  try {
    const decision = await raceAbort(
      context.consent.evaluate(
        {
          tool: entry.definition,
          args,
          userId: context.userId,
          sessionId: context.sessionId,
          runId: context.runId,
          callId: call.callId,
        },
        { signal: context.signal },
      ),
      context.signal,
    );
    return { call, args, entry, decision };
  } catch (error) {
    return {
      call,
      args,
      error: new StewardError('tool_denied', 'The consent policy failed; the call was not run', {
        cause: error,
      }),
    };
  }
}

async function runOne(context: ToolExecutionContext, item: Prepared): Promise<ToolMessage> {
  const started = performance.now();
  let outcome: { ok: true; result: unknown } | { ok: false; error: StewardError };
  if ('error' in item) {
    outcome = { ok: false, error: item.error };
  } else if (item.decision.type !== 'allow') {
    outcome = { ok: false, error: new StewardError('tool_denied', item.decision.reason) };
  } else {
    outcome = await invoke(context, item.entry, item.call, item.args);
  }
  const durationMs = Math.round(performance.now() - started);
  const { call } = item;
  if (!outcome.ok) return finishWithError(context, call, outcome.error, durationMs);
  let json: string;
  try {
    json = typeof outcome.result === 'string' ? outcome.result : (JSON.stringify(outcome.result) ?? 'null');
  } catch (error) {
    const invalid = new StewardError(
      'tool_invalid_output',
      `${call.name} returned a value that is not JSON`,
      { cause: error },
    );
    return finishWithError(context, call, invalid, durationMs);
  }
  // What the model reads is bounded; the structured result travels in events and history only
  // when it fits, and always as plain JSON (what a transport would send), never as live objects.
  const fits = json.length <= context.maxToolResultChars;
  const result: unknown = !fits || typeof outcome.result === 'string' ? outcome.result : JSON.parse(json);
  context.emit({
    type: 'tool_result',
    call_id: call.callId,
    tool_slug: call.name,
    result: fits ? result : renderToolContent(json, context.maxToolResultChars),
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

function finishWithError(
  context: ToolExecutionContext,
  call: ToolCall,
  error: StewardError,
  durationMs: number,
): ToolMessage {
  const payload: ToolErrorPayload = {
    code: error.code,
    message: error.message,
    ...(Object.keys(error.details).length === 0 ? {} : { details: error.details }),
  };
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

async function invoke(
  context: ToolExecutionContext,
  entry: CatalogEntry,
  call: ToolCall,
  args: unknown,
): Promise<{ ok: true; result: unknown } | { ok: false; error: StewardError }> {
  if (context.signal.aborted) {
    // The run stopped while consent was decided: a side effect must not start now.
    return {
      ok: false,
      error: abortReasonToError(context.signal.reason, 'run_timeout', `Tool ${call.name}`),
    };
  }
  const signal = AbortSignal.any([context.signal, AbortSignal.timeout(context.toolTimeoutMs)]);
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
          ...(typeof progress.message === 'string' ? { message: progress.message } : {}),
        });
      },
    });
    return { ok: true, result: await raceAbort(Promise.resolve(pending), signal) };
  } catch (error) {
    settled = true;
    if (signal.aborted)
      return { ok: false, error: abortReasonToError(signal.reason, 'tool_timeout', `Tool ${call.name}`) };
    return { ok: false, error: toStewardError(error, 'tool_execution_failed') };
  } finally {
    settled = true;
  }
}
