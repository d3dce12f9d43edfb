import type { ConsentDecision, ConsentPolicy } from '../consent/consent-policy.ts';
import { decideConsent, executeGuarded, type Gate, type GateCall } from '../consent/execution-gate.ts';
import { StewardError, toStewardError } from '../errors/steward-error.ts';
import { abortReasonToError, raceAbort } from '../internal/abort.ts';
import { canonicalHash } from '../internal/canonical-hash.ts';
import { parseToolArguments } from '../internal/json.ts';
import { toStorableText } from '../internal/storable-text.ts';
import type { ToolCall, ToolMessage } from '../model/message.ts';
import type { Storage } from '../storage/storage.ts';
import { isToolOutput, type ToolAnnotations } from '../tools/tool-provider.ts';
import {
  type AuthorizationPause,
  authorizationNeedOf,
  requestAuthorization,
  resolveAuthorization,
} from './authorization-pause.ts';
import type { CatalogEntry, ToolCatalog } from './tool-catalog.ts';
import { errorMessage, type InvokeContext, invokeProvider, resultMessage } from './tool-invoke.ts';

/** @internal What a batch of tool calls needs from its run. */
export interface ToolExecutionContext extends InvokeContext {
  readonly catalog: ToolCatalog;
  readonly consent: ConsentPolicy;
  readonly storage: Storage;
  readonly approvalTtlMs: number;
}

/** @internal A call waiting for the user's decision. */
export interface PendingCall {
  readonly call: ToolCall;
  readonly args: unknown;
  readonly argsHash: string;
  readonly entry: CatalogEntry;
}

type Prepared =
  | (PendingCall & { readonly decision: ConsentDecision; readonly afterAuthorization?: boolean })
  | { readonly call: ToolCall; readonly args: unknown; readonly error: StewardError };

const gateOf = (context: ToolExecutionContext): Gate => ({
  storage: context.storage,
  policy: context.consent,
  signal: context.signal,
  now: context.now,
});

const gateCall = (
  context: ToolExecutionContext,
  item: PendingCall & { readonly afterAuthorization?: boolean },
): GateCall => ({
  runId: context.runId,
  sessionId: context.sessionId,
  userId: context.userId,
  callId: item.call.callId,
  tool: item.entry.definition,
  args: item.args,
  argsHash: item.argsHash,
  ...(item.afterAuthorization === true ? { afterAuthorization: true } : {}),
});

/** @internal What a batch of calls left: tool messages of the calls that ended, and the calls that wait. */
export interface ExecutedCalls {
  readonly messages: ToolMessage[];
  readonly pending: PendingCall[];
}

/**
 * @internal Runs one step's tool calls: all `tool_request`s first, in the model's order; then an
 * approval is recorded for each call that needs the user's consent (`approval_required`), while
 * the others run concurrently, each `tool_result` as soon as it ends. A call whose provider
 * refuses it until the user connects its server waits too (`authorization_required`). Returns a
 * tool message for every call that ended, in call order, and the calls left waiting.
 */
export async function executeToolCalls(
  context: ToolExecutionContext,
  calls: readonly ToolCall[],
): Promise<ExecutedCalls> {
  const prepared = await Promise.all(calls.map((call) => prepare(context, call)));
  for (const item of prepared) {
    const definition =
      'entry' in item ? item.entry.definition : context.catalog.get(item.call.name)?.definition;
    const title = definition?.title ?? definition?.annotations?.title;
    context.emit({
      type: 'tool_request',
      call_id: item.call.callId,
      tool_slug: item.call.name,
      args: item.args,
      require_confirmation: 'decision' in item && item.decision.type === 'confirm',
      ...(title === undefined ? {} : { tool_title: toStorableText(title) }),
      ...(definition?.annotations === undefined ? {} : { annotations: hintsOf(definition.annotations) }),
    });
  }
  const pending: PendingCall[] = [];
  const ready: Prepared[] = [];
  for (const item of prepared) {
    if (!('decision' in item) || item.decision.type !== 'confirm') {
      ready.push(item);
      continue;
    }
    try {
      await requestApproval(context, item, item.decision.reason);
      pending.push(item);
    } catch (error) {
      // No recorded approval, no pause: the call fails here and the model is told why.
      const failure = new StewardError(
        'approval_required',
        `Could not record an approval for ${item.call.name}`,
        { cause: error },
      );
      ready.push({ call: item.call, args: item.args, error: failure });
    }
  }
  const ran = await settleRuns(context, await Promise.all(ready.map((item) => runOne(context, item))));
  return { messages: ran.messages, pending: [...pending, ...ran.pending] };
}

/** Turns each run's outcome into a tool message or, for a call refused until the user connects, a wait. */
async function settleRuns(
  context: ToolExecutionContext,
  outcomes: readonly (ToolMessage | AuthorizationPause)[],
): Promise<ExecutedCalls> {
  const messages: ToolMessage[] = [];
  const pending: PendingCall[] = [];
  for (const outcome of outcomes) {
    if (!('pause' in outcome)) messages.push(outcome);
    else if (await requestAuthorization(context, outcome)) pending.push(outcome.pause);
    else {
      // Not recorded, no pause: the call fails (errorMessage tells the model the server, not the URL).
      const failure = new StewardError('authorization_required', 'The call needs an authorization', {
        details: { server: outcome.need.server },
      });
      messages.push(errorMessage(context, outcome.pause.call, failure, 0));
    }
  }
  return { messages, pending };
}

/**
 * @internal Finishes calls that waited for a decision: an approved call runs (the gate checks the
 * approval again and uses it up), a denied one answers the model with `tool_denied`, and one
 * nobody decided on in time with `approval_expired`. A call that waited for the user to connect
 * its server runs once they did (`connected`), else answers `tool_authorization_declined`.
 * `connected` says whether any did connect (the run's catalog may have grown).
 */
export async function resolvePendingCalls(
  context: ToolExecutionContext,
  pending: readonly PendingCall[],
): Promise<ExecutedCalls & { connected: boolean }> {
  let connected = false;
  const outcomes = await Promise.all(
    pending.map(async (item): Promise<ToolMessage | AuthorizationPause> => {
      const { call } = item;
      const authorization = await context.storage.getApproval(call.callId, {
        userId: context.userId,
        kind: 'authorization',
      });
      if (authorization !== undefined && authorization.status !== 'used') {
        const resolved = await resolveAuthorization(context, item, authorization);
        if (resolved !== 'connected') return resolved;
        connected = true;
        // It never ran (the provider refused it before it did), so it runs now, not `tool_outcome_unknown`.
        return runOne(context, { ...item, decision: { type: 'allow' }, afterAuthorization: true });
      }
      let approval = await context.storage.getApproval(call.callId, { userId: context.userId });
      if (approval?.status === 'pending' && Date.parse(approval.expiresAt) <= context.now()) {
        approval =
          (await context.storage.transitionApproval(call.callId, 'pending', { status: 'expired' })) ??
          approval;
        if (approval.status === 'expired') {
          await context.storage.appendAudit({
            at: new Date(context.now()).toISOString(),
            action: 'approval_expired',
            userId: context.userId,
            actor: 'steward',
            runId: context.runId,
            callId: call.callId,
            toolName: call.name,
            argsHash: item.argsHash,
          });
        }
      }
      const decision = approval?.status === 'used' ? 'approved' : approval?.status;
      if (decision === 'approved' || decision === 'denied' || decision === 'expired') {
        context.emit({
          type: 'approval_resolved',
          call_id: call.callId,
          tool_slug: call.name,
          decision,
          ...(approval?.decidedBy === undefined ? {} : { decided_by: approval.decidedBy }),
          ...(approval?.reason === undefined ? {} : { reason: approval.reason }),
        });
      }
      if (decision === 'denied') {
        const reason = approval?.reason ?? 'the user declined';
        return errorMessage(
          context,
          call,
          new StewardError('tool_denied', `The user denied ${call.name}: ${reason}`),
          0,
        );
      }
      if (decision === 'expired') {
        return errorMessage(
          context,
          call,
          new StewardError('approval_expired', `Nobody approved ${call.name} in time`),
          0,
        );
      }
      return runOne(context, { ...item, decision: { type: 'allow' } });
    }),
  );
  return { ...(await settleRuns(context, outcomes)), connected };
}

async function requestApproval(
  context: ToolExecutionContext,
  item: PendingCall,
  reason: string,
): Promise<void> {
  const now = new Date(context.now());
  const expiresAt = new Date(now.getTime() + context.approvalTtlMs).toISOString();
  await context.storage.createApproval({
    callId: item.call.callId,
    kind: 'consent',
    runId: context.runId,
    sessionId: context.sessionId,
    userId: context.userId,
    toolName: item.call.name,
    argsHash: item.argsHash,
    args: item.args,
    status: 'pending',
    createdAt: now.toISOString(),
    expiresAt,
  });
  await context.storage.appendAudit({
    at: now.toISOString(),
    action: 'approval_requested',
    userId: context.userId,
    actor: 'steward',
    runId: context.runId,
    callId: item.call.callId,
    toolName: item.call.name,
    argsHash: item.argsHash,
    detail: reason,
  });
  context.emit({
    type: 'approval_required',
    call_id: item.call.callId,
    tool_slug: item.call.name,
    args: item.args,
    args_hash: item.argsHash,
    expires_at: expiresAt,
    reason,
  });
}

/** @internal Parses a call's arguments and finds its tool, for a first step or a resumed one. */
export async function preparePending(
  context: ToolExecutionContext,
  call: ToolCall,
): Promise<PendingCall | StewardError> {
  let args: unknown;
  try {
    args = parseToolArguments(call.arguments, call.name);
  } catch (error) {
    return toStewardError(error, 'tool_invalid_arguments');
  }
  const entry = context.catalog.get(call.name);
  if (entry === undefined)
    return new StewardError('tool_not_found', `No tool named "${call.name}" is offered in this run`);
  return { call, args, argsHash: await canonicalHash(args), entry };
}

async function prepare(context: ToolExecutionContext, call: ToolCall): Promise<Prepared> {
  const ready = await preparePending(context, call);
  if (StewardError.isInstance(ready)) {
    return {
      call,
      args: ready.code === 'tool_invalid_arguments' ? call.arguments : safeArgs(call),
      error: ready,
    };
  }
  try {
    return {
      ...ready,
      decision: await raceAbort(decideConsent(gateOf(context), gateCall(context, ready)), context.signal),
    };
  } catch (error) {
    if (context.signal.aborted) {
      return {
        call,
        args: ready.args,
        error: abortReasonToError(context.signal.reason, 'run_timeout', `Tool ${call.name}`),
      };
    }
    return {
      call,
      args: ready.args,
      error: new StewardError('tool_denied', 'The consent policy failed; the call was not run', {
        cause: error,
      }),
    };
  }
}

/** The documented hints only, as plain values: a provider's object may carry anything. */
function hintsOf(annotations: ToolAnnotations): ToolAnnotations {
  const hints: Record<string, string | boolean> = {};
  if (typeof annotations.title === 'string') hints.title = toStorableText(annotations.title);
  for (const key of ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'] as const) {
    if (typeof annotations[key] === 'boolean') hints[key] = annotations[key];
  }
  return hints;
}

function safeArgs(call: ToolCall): unknown {
  try {
    return parseToolArguments(call.arguments, call.name);
  } catch {
    return call.arguments;
  }
}

async function runOne(
  context: ToolExecutionContext,
  item: Prepared,
): Promise<ToolMessage | AuthorizationPause> {
  const started = performance.now();
  if ('error' in item) return errorMessage(context, item.call, item.error, 0);
  if (item.decision.type === 'deny')
    return errorMessage(context, item.call, new StewardError('tool_denied', item.decision.reason), 0);
  try {
    const value = await executeGuarded(gateOf(context), gateCall(context, item), () =>
      context.tracing.toolCall(item.entry.provider.name, item.call, () =>
        invokeProvider(context, item.entry, item.call, item.args),
      ),
    );
    const durationMs = Math.round(performance.now() - started);
    if (isToolOutput(value))
      return resultMessage(context, item.call, value.value, durationMs, value.resourceLinks ?? []);
    return resultMessage(context, item.call, value, durationMs);
  } catch (error) {
    // Refused before it ran, until the user connects the server: the call waits (unless the run stopped).
    const need = context.signal.aborted ? undefined : authorizationNeedOf(error);
    if (need !== undefined) return { pause: item, need };
    return errorMessage(
      context,
      item.call,
      toStewardError(error, 'tool_execution_failed'),
      Math.round(performance.now() - started),
    );
  }
}
