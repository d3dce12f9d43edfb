import { describe, expect, it } from 'vitest';
import { canonicalHash } from '../internal/canonical-hash.ts';
import { createInMemoryStorage } from '../storage/in-memory-storage.ts';
import type { ToolDefinition } from '../tools/tool-provider.ts';
import { createAllowAllConsentPolicy, createSideEffectConsentPolicy } from './consent-policy.ts';
import { executeGuarded, type GateCall } from './execution-gate.ts';

const send: ToolDefinition = {
  name: 'send_email',
  description: 'sends',
  inputSchema: { type: 'object' },
  sideEffect: true,
};

async function fixture(policy = createSideEffectConsentPolicy()) {
  const storage = createInMemoryStorage();
  const args = { to: 'bob@example.com', subject: 'hi' };
  const call: GateCall = {
    runId: 'run-1',
    sessionId: 's',
    userId: 'ann',
    callId: 'c1',
    tool: send,
    args,
    argsHash: await canonicalHash(args),
  };
  let runs = 0;
  const invoke = async () => {
    runs++;
    return { sent: true };
  };
  const gate = { storage, policy, signal: new AbortController().signal, now: Date.now };
  const approve = async (overrides: Partial<Parameters<typeof storage.createApproval>[0]> = {}) => {
    const now = Date.now();
    await storage.createApproval({
      callId: call.callId,
      kind: 'consent',
      runId: call.runId,
      sessionId: call.sessionId,
      userId: call.userId,
      toolName: send.name,
      argsHash: call.argsHash,
      args,
      status: 'approved',
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + 60_000).toISOString(),
      ...overrides,
    });
  };
  return { storage, call, gate, invoke, approve, runs: () => runs };
}

describe('the enforcement point', () => {
  it('refuses a side effect with no recorded approval', async () => {
    const { gate, call, invoke, runs, storage } = await fixture();
    await expect(executeGuarded(gate, call, invoke)).rejects.toMatchObject({ code: 'approval_required' });
    expect(runs()).toBe(0);
    expect((await storage.listAudit({ userId: 'ann' })).map((entry) => entry.action)).toEqual([
      'execution_refused',
    ]);
  });

  it('refuses an approval for other arguments, another call or another run', async () => {
    for (const overrides of [
      { argsHash: await canonicalHash({ to: 'eve@example.com', subject: 'hi' }) },
      { toolName: 'delete_everything' },
      { runId: 'run-2' },
      { status: 'pending' as const },
      { status: 'denied' as const },
    ]) {
      const { gate, call, invoke, runs, approve } = await fixture();
      await approve(overrides);
      await expect(executeGuarded(gate, call, invoke)).rejects.toMatchObject({ code: 'approval_required' });
      expect(runs()).toBe(0);
    }
  });

  it('hashes arguments canonically: key order does not matter, values do', async () => {
    expect(await canonicalHash({ a: 1, b: { c: 2, d: 3 } })).toBe(
      await canonicalHash({ b: { d: 3, c: 2 }, a: 1 }),
    );
    expect(await canonicalHash({ a: 1 })).not.toBe(await canonicalHash({ a: 2 }));
  });

  it('uses an approval up: the same approval never runs the call twice', async () => {
    const { gate, call, invoke, runs, approve, storage } = await fixture();
    await approve();
    await expect(executeGuarded(gate, call, invoke)).resolves.toEqual({ sent: true });
    // A second attempt gets the recorded outcome from the ledger; the tool does not run.
    await expect(executeGuarded(gate, call, invoke)).resolves.toEqual({ sent: true });
    await expect(executeGuarded(gate, { ...call, callId: 'other' }, invoke)).rejects.toMatchObject({
      code: 'approval_required',
    });
    expect(runs()).toBe(1);
    expect((await storage.getApproval('c1', { userId: 'ann' }))?.status).toBe('used');
  });

  it('reports a call that started before a crash as unknown, and never runs it again', async () => {
    const { gate, call, invoke, runs, storage } = await fixture(createAllowAllConsentPolicy());
    await storage.beginExecution({
      key: 'run-1:c1',
      runId: 'run-1',
      callId: 'c1',
      toolName: send.name,
      argsHash: call.argsHash,
      status: 'started',
      startedAt: new Date().toISOString(),
    });
    await expect(executeGuarded(gate, call, invoke)).rejects.toMatchObject({
      code: 'tool_outcome_unknown',
      retryable: false,
    });
    expect(runs()).toBe(0);
  });

  it('answers a repeated call from the ledger instead of running it again, and refuses other arguments', async () => {
    const { gate, call, invoke, runs } = await fixture(createAllowAllConsentPolicy());
    await executeGuarded(gate, call, invoke);
    await expect(executeGuarded(gate, call, invoke)).resolves.toEqual({ sent: true });
    const changed = {
      ...call,
      args: { to: 'eve@example.com' },
      argsHash: await canonicalHash({ to: 'eve@example.com' }),
    };
    await expect(executeGuarded(gate, changed, invoke)).rejects.toMatchObject({
      code: 'tool_execution_failed',
    });
    expect(runs()).toBe(1);
  });

  it('keeps a side effect that happened as done even when recording it fails', async () => {
    const { gate, call, invoke, runs, storage } = await fixture(createAllowAllConsentPolicy());
    const broken = {
      ...gate,
      storage: { ...storage, finishExecution: async () => Promise.reject(new Error('db down')) },
    };
    await expect(executeGuarded(broken, call, invoke)).resolves.toEqual({ sent: true });
    // The entry stayed `started`: a later attempt reports the outcome as unknown, never runs again.
    await expect(executeGuarded(gate, call, invoke)).rejects.toMatchObject({ code: 'tool_outcome_unknown' });
    expect(runs()).toBe(1);
  });

  it('refuses what the policy denies, whatever was approved', async () => {
    const { gate, call, invoke, runs, approve } = await fixture({
      evaluate: async () => ({ type: 'deny', reason: 'blocked by rule' }),
    });
    await approve();
    await expect(executeGuarded(gate, call, invoke)).rejects.toMatchObject({
      code: 'tool_denied',
      message: 'blocked by rule',
    });
    expect(runs()).toBe(0);
  });
});
