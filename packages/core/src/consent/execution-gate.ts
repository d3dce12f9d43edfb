import { StewardError } from '../errors/steward-error.ts';
import type { AuditAction, ExecutionRecord } from '../storage/consent-records.ts';
import type { Storage } from '../storage/storage.ts';
import type { ToolDefinition } from '../tools/tool-provider.ts';
import type { ConsentDecision, ConsentPolicy } from './consent-policy.ts';

/** @internal One tool call, as the gate sees it. */
export interface GateCall {
  readonly runId: string;
  readonly sessionId: string;
  readonly userId: string;
  readonly callId: string;
  readonly tool: ToolDefinition;
  readonly args: unknown;
  readonly argsHash: string;
  /**
   * The call runs again because the user connected its server: its earlier attempt was refused
   * by the provider before it ran (`authorization_required`). The authorization is used up here,
   * once; the earlier attempt's used consent and its ledger entry do not stop this one.
   */
  readonly afterAuthorization?: boolean;
}

/** @internal What the gate needs. */
export interface Gate {
  readonly storage: Storage;
  readonly policy: ConsentPolicy;
  readonly signal: AbortSignal;
  /** Milliseconds since the epoch: the time of every audit and ledger entry. */
  readonly now: () => number;
}

const maxStoredResultChars = 64_000;

async function audit(gate: Gate, call: GateCall, action: AuditAction, detail?: string): Promise<void> {
  await gate.storage.appendAudit({
    at: new Date(gate.now()).toISOString(),
    action,
    userId: call.userId,
    actor: 'steward',
    runId: call.runId,
    callId: call.callId,
    toolName: call.tool.name,
    argsHash: call.argsHash,
    ...(detail === undefined ? {} : { detail }),
  });
}

/** @internal The policy's answer, relaxed by the user's standing permissions ("always allow", "this session"). */
export async function decideConsent(gate: Gate, call: GateCall): Promise<ConsentDecision> {
  const decision = await gate.policy.evaluate(
    {
      tool: call.tool,
      args: call.args,
      userId: call.userId,
      sessionId: call.sessionId,
      runId: call.runId,
      callId: call.callId,
    },
    { signal: gate.signal },
  );
  if (decision.type !== 'confirm') return decision;
  const permissions = await gate.storage.listToolPermissions({ userId: call.userId });
  const permitted = permissions.some(
    (permission) =>
      permission.toolName === call.tool.name &&
      (permission.sessionId === undefined || permission.sessionId === call.sessionId),
  );
  return permitted ? { type: 'allow' } : decision;
}

/**
 * @internal The one enforcement point: every tool call Steward runs, from a first step, a
 * resumed run or a retry, comes through here. It decides consent again at execution time (a
 * decision made earlier is not trusted), requires a recorded, matching, unused approval where
 * consent is needed and uses it up, and runs side-effect tools under the execution ledger, so
 * a call runs at most once and a crash mid-call is reported, never re-run.
 */
export async function executeGuarded(
  gate: Gate,
  call: GateCall,
  invoke: () => Promise<unknown>,
): Promise<unknown> {
  const decision = await decideConsent(gate, call);
  if (decision.type === 'deny') {
    await audit(gate, call, 'execution_refused', decision.reason);
    throw new StewardError('tool_denied', decision.reason);
  }
  if (decision.type === 'confirm') {
    const approval = await gate.storage.getApproval(call.callId, { userId: call.userId });
    // The decision deadline was checked when the user decided; an approval given in time stays
    // good while the run gets to the call.
    const problem =
      approval === undefined
        ? 'no approval was recorded'
        : approval.runId !== call.runId || approval.toolName !== call.tool.name
          ? 'the approval is for another call'
          : approval.argsHash !== call.argsHash
            ? 'the approval is for other arguments'
            : approval.status !== 'approved' && approval.status !== 'used'
              ? `the approval is ${approval.status}`
              : undefined;
    if (problem !== undefined) {
      await audit(gate, call, 'execution_refused', problem);
      throw new StewardError('approval_required', `${call.tool.name} did not run: ${problem}`);
    }
  }

  if (call.afterAuthorization === true) {
    // Single use: only the caller that moves the connected authorization to used may go on.
    const used = await gate.storage.transitionApproval(
      call.callId,
      'approved',
      { status: 'used' },
      'authorization',
    );
    if (used === undefined) {
      await audit(gate, call, 'execution_refused', 'the authorization is not connected or was already used');
      throw new StewardError(
        'approval_conflict',
        `${call.tool.name} did not run: the authorization is not connected or was already used`,
      );
    }
  }

  // Side effects go through the ledger before the approval is used, so a call that was used up
  // by an attempt that then died is reported from the ledger, not run again.
  const key = `${call.runId}:${call.callId}`;
  const existing = call.tool.sideEffect
    ? await gate.storage.beginExecution({
        key,
        runId: call.runId,
        callId: call.callId,
        toolName: call.tool.name,
        argsHash: call.argsHash,
        status: 'started',
        startedAt: new Date(gate.now()).toISOString(),
      })
    : undefined;
  // An attempt the provider refused for want of an authorization never ran: with the user now
  // connected (and that authorization used up above, once), it runs. The entry stays `failed`
  // until this attempt settles it; a crash meanwhile ends the run as interrupted, never re-runs it.
  const retryable = call.afterAuthorization === true && refusedForAuthorization(existing);
  if (existing !== undefined && !retryable) return fromLedger(gate, call, existing);

  if (decision.type === 'confirm') {
    // Single use: only the caller that moves it from approved to used may go on. After an
    // authorization, the consent was used by the earlier attempt of this same call.
    const used =
      (await gate.storage.transitionApproval(call.callId, 'approved', { status: 'used' })) ??
      (call.afterAuthorization === true
        ? (await gate.storage.getApproval(call.callId, { userId: call.userId }))?.status === 'used'
          ? true
          : undefined
        : undefined);
    if (used === undefined) {
      if (call.tool.sideEffect) {
        await gate.storage.finishExecution(key, {
          status: 'failed',
          finishedAt: new Date(gate.now()).toISOString(),
          error: { code: 'approval_conflict', message: 'the approval was already used' },
        });
      }
      await audit(gate, call, 'execution_refused', 'the approval was already used');
      throw new StewardError(
        'approval_conflict',
        `${call.tool.name} did not run: the approval was already used`,
      );
    }
  }
  if (!call.tool.sideEffect) return invoke();

  await audit(gate, call, 'execution_started');
  let result: unknown;
  try {
    result = await invoke();
  } catch (error) {
    const failure = StewardError.isInstance(error)
      ? error
      : new StewardError('tool_execution_failed', String(error));
    await settle(
      gate,
      call,
      key,
      { status: 'failed', error: { code: failure.code, message: failure.message } },
      failure.code,
    );
    throw error;
  }
  let stored: unknown = null;
  try {
    const text = JSON.stringify(result) ?? 'null';
    if (text.length <= maxStoredResultChars) stored = JSON.parse(text);
  } catch {
    // Not JSON: the run reports that as its own error; the ledger just records success.
  }
  await settle(gate, call, key, { status: 'succeeded', result: stored });
  return result;
}

/**
 * Records how an execution ended. A failing write here must not turn a side effect that
 * happened into a reported failure (the model might then try again): the entry stays
 * `started`, which a later attempt reports as unknown.
 */
async function settle(
  gate: Gate,
  call: GateCall,
  key: string,
  outcome: { status: 'succeeded' | 'failed'; result?: unknown; error?: { code: string; message: string } },
  detail?: string,
): Promise<void> {
  try {
    await gate.storage.finishExecution(key, { ...outcome, finishedAt: new Date(gate.now()).toISOString() });
    await audit(
      gate,
      call,
      outcome.status === 'succeeded' ? 'execution_succeeded' : 'execution_failed',
      detail,
    );
  } catch {
    // Best effort, see above.
  }
}

function refusedForAuthorization(existing: ExecutionRecord | undefined): boolean {
  return existing?.status === 'failed' && existing.error?.code === 'authorization_required';
}

async function fromLedger(gate: Gate, call: GateCall, existing: ExecutionRecord): Promise<unknown> {
  if (existing.argsHash !== call.argsHash) {
    await audit(gate, call, 'execution_refused', 'the call id was already used with other arguments');
    throw new StewardError(
      'tool_execution_failed',
      `${call.tool.name} did not run: call ${call.callId} already ran with other arguments`,
    );
  }
  if (existing.status === 'started') {
    await audit(
      gate,
      call,
      'execution_refused',
      'an earlier attempt started and never finished; its outcome is unknown',
    );
    throw new StewardError(
      'tool_outcome_unknown',
      `${call.tool.name} started before an interruption and its outcome is unknown; it was not run again`,
      { retryable: false, details: { startedAt: existing.startedAt } },
    );
  }
  await audit(
    gate,
    call,
    'execution_refused',
    `already ${existing.status}; the recorded outcome is returned`,
  );
  if (existing.status === 'succeeded') return existing.result;
  throw new StewardError('tool_execution_failed', existing.error?.message ?? `${call.tool.name} failed`);
}
