import type { StewardEvent, Storage } from '@steward/core';
import { expect, it } from 'vitest';
import { withRun } from './conformance-helpers.ts';

const nul = 'a\u0000b';
const loneSurrogate = 'a\ud800b';

const refused = (field: string) => ({
  name: 'StewardError',
  code: 'storage_error',
  retryable: false,
  details: { field, reason: 'unstorable_text' },
});

const event = (seq: number, fields: Record<string, unknown> = {}): StewardEvent =>
  ({
    type: 'token',
    text: `t${seq}`,
    run_id: 'run-1',
    seq,
    timestamp: new Date(seq * 1_000).toISOString(),
    ...fields,
  }) as StewardEvent;

/**
 * @internal The part of the storage conformance suite about text a database cannot store: NUL
 * (PostgreSQL refuses it) and lone surrogates (not UTF-8; PostgreSQL would silently replace them).
 * Every adapter refuses them in every stored string with a typed error naming the field, before
 * anything of the write is stored, so they behave alike whatever the backend.
 */
export function runTextConformance(create: () => Promise<Storage> | Storage): void {
  it('refuses unstorable text in run events, storing nothing of the batch', async () => {
    const storage = await create();
    await withRun(storage);
    await storage.appendEvents('run-1', [event(1)]);
    await expect(storage.appendEvents('run-1', [event(2), event(3, { text: nul })])).rejects.toMatchObject(
      refused('events[1].text'),
    );
    const toolRequest = event(2, {
      type: 'tool_request',
      call_id: 'c1',
      tool_slug: 'send_email',
      args: { to: 'bob@example.com', body: ['fine', loneSurrogate] },
      require_confirmation: false,
    });
    delete (toolRequest as { text?: string }).text;
    await expect(storage.appendEvents('run-1', [toolRequest])).rejects.toMatchObject(
      refused('events[0].args.body[1]'),
    );
    await expect(
      storage.appendEvents('run-1', [{ ...toolRequest, call_id: nul } as StewardEvent]),
    ).rejects.toMatchObject(refused('events[0].call_id'));
    expect(await storage.listEvents('run-1', { userId: 'alice' })).toEqual([event(1)]);
  });

  it('refuses unstorable text in approvals, their decisions and the ledger, changing nothing', async () => {
    const storage = await create();
    await withRun(storage);
    const now = Date.now();
    const approval = {
      callId: 'c1',
      kind: 'consent' as const,
      runId: 'run-1',
      sessionId: 'session-1',
      userId: 'alice',
      toolName: 'send_email',
      argsHash: 'a'.repeat(64),
      args: { to: 'bob@example.com' },
      status: 'pending' as const,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + 60_000).toISOString(),
    };
    await expect(storage.createApproval({ ...approval, callId: nul })).rejects.toMatchObject(
      refused('approval.callId'),
    );
    await expect(storage.createApproval({ ...approval, args: { to: loneSurrogate } })).rejects.toMatchObject(
      refused('approval.args.to'),
    );
    await storage.createApproval(approval);
    await expect(
      storage.transitionApproval('c1', 'pending', { status: 'denied', decidedBy: 'alice', reason: nul }),
    ).rejects.toMatchObject(refused('approval.reason'));
    expect(await storage.getApproval('c1', { userId: 'alice' })).toMatchObject({ status: 'pending' });

    const execution = {
      key: 'run-1:c1',
      runId: 'run-1',
      callId: 'c1',
      toolName: 'send_email',
      argsHash: 'a'.repeat(64),
      status: 'started' as const,
      startedAt: new Date(now).toISOString(),
    };
    await expect(storage.beginExecution({ ...execution, key: nul })).rejects.toMatchObject(
      refused('execution.key'),
    );
    expect(await storage.beginExecution(execution)).toBeUndefined();
    await expect(
      storage.finishExecution('run-1:c1', { status: 'succeeded', result: { [nul]: 1 } }),
    ).rejects.toMatchObject(refused('execution.result[…]'));
    await expect(
      storage.appendAudit({
        at: new Date(now).toISOString(),
        action: 'approval_denied',
        userId: 'alice',
        actor: 'alice',
        detail: nul,
      }),
    ).rejects.toMatchObject(refused('audit.detail'));
    expect(await storage.listAudit({ userId: 'alice' })).toEqual([]);
  });

  it('refuses unstorable text in sessions and runs, changing nothing', async () => {
    const storage = await create();
    await expect(storage.ensureSession(nul, { userId: 'alice' })).rejects.toMatchObject(
      refused('session.sessionId'),
    );
    await withRun(storage);
    await expect(
      storage.updateRun('run-1', { status: 'completed', text: loneSurrogate }),
    ).rejects.toMatchObject(refused('run.text'));
    expect(await storage.getRun('run-1', { userId: 'alice' })).toMatchObject({ status: 'running' });
    expect((await storage.getRun('run-1', { userId: 'alice' }))?.text).toBeUndefined();
  });
}
