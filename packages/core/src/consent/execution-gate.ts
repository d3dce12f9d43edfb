import { StewardError } from '../errors/steward-error.ts';
import type { AuditAction } from '../storage/consent-records.ts';
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
}

/** @internal What the gate needs. */
export interface Gate {
  readonly storage: Storage;
  readonly policy: ConsentPolicy;
  readonly signal: AbortSignal;
}

const maxStoredResultChars = 64_000;

async function audit(gate: Gate, call: GateCall, action: AuditAction, detail?: string): Promise<void> {
  await gate.storage.appendAudit({
    at: new Date().toISOString(),
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
    const problem =
      approval === undefined
        ? 'no approval was recorded'
        : approval.runId !== call.runId || approval.toolName !== call.tool.name
          ? 'the approval is for another call'
          : approval.argsHash !== call.argsHash
            ? 'the approval is for other arguments'
            : approval.status !== 'approved'
              ? `the approval is ${approval.status}`
              : Date.parse(approval.expiresAt) <= Date.now()
                ? 'the approval expired'
                : undefined;
    if (problem !== undefined) {
      await audit(gate, call, 'execution_refused', problem);
      throw new StewardError('approval_required', `${call.tool.name} did not run: ${problem}`);
    }
    // Single use: only the caller that moves it from approved to used may go on.
    const used = await gate.storage.transitionApproval(call.callId, 'approved', { status: 'used' });
    if (used === undefined) {
      await audit(gate, call, 'execution_refused', 'the approval was already used');
      throw new StewardError(
        'approval_conflict',
        `${call.tool.name} did not run: the approval was already used`,
      );
    }
  }
  if (!call.tool.sideEffect) return invoke();

  const key = `${call.runId}:${call.callId}`;
  const existing = await gate.storage.beginExecution({
    key,
    runId: call.runId,
    callId: call.callId,
    toolName: call.tool.name,
    argsHash: call.argsHash,
    status: 'started',
    startedAt: new Date().toISOString(),
  });
  if (existing !== undefined) {
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
  await audit(gate, call, 'execution_started');
  try {
    const result = await invoke();
    let text = 'null';
    try {
      text = JSON.stringify(result) ?? 'null';
    } catch {
      // Not JSON: the run reports that as its own error; the ledger just records success.
    }
    await gate.storage.finishExecution(key, {
      status: 'succeeded',
      finishedAt: new Date().toISOString(),
      result: text.length <= maxStoredResultChars ? (JSON.parse(text) as unknown) : null,
    });
    await audit(gate, call, 'execution_succeeded');
    return result;
  } catch (error) {
    const failure = StewardError.isInstance(error)
      ? error
      : new StewardError('tool_execution_failed', String(error));
    await gate.storage.finishExecution(key, {
      status: 'failed',
      finishedAt: new Date().toISOString(),
      error: { code: failure.code, message: failure.message },
    });
    await audit(gate, call, 'execution_failed', failure.code);
    throw error;
  }
}
