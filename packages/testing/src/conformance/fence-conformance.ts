import type { StewardEvent, Storage } from '@steward/core';
import { expect, it } from 'vitest';
import { user, withRun } from './conformance-helpers.ts';

const token = (seq: number, text = `t${seq}`): StewardEvent => ({
  type: 'token',
  text,
  run_id: 'run-1',
  seq,
  timestamp: new Date(seq * 1_000).toISOString(),
});

const scope = { userId: 'alice' };

/**
 * @internal The fencing part of the storage conformance suite: a write that carries a stale
 * epoch (its writer lost the run to a claim) is refused with `run_fenced` and stores nothing.
 */
export function runFenceConformance(create: () => Promise<Storage> | Storage): void {
  it('refuses every write of a run whose epoch moved on, storing nothing of it; the new epoch writes', async () => {
    const storage = await create();
    await withRun(storage);
    const stale = { epoch: 0 };
    await storage.appendEvents('run-1', [token(1)], stale);
    await storage.appendMessages('session-1', [{ runId: 'run-1', message: user('go') }], {
      runId: 'run-1',
      ...stale,
    });
    await storage.updateRun('run-1', { text: 'so far' }, stale);

    // Another instance claims the run (a resume or a recovery): the epoch moves on.
    const paused = (await storage.transitionRun('run-1', 'running', 'awaiting_approval', 0)) as number;
    const claimed = (await storage.transitionRun('run-1', 'awaiting_approval', 'running', paused)) as number;
    expect(claimed).toBe(paused + 1);
    const fenced = { code: 'run_fenced', retryable: false, details: { runId: 'run-1', epoch: 0 } };
    await expect(storage.appendEvents('run-1', [token(2, 'stale')], stale)).rejects.toMatchObject(fenced);
    await expect(
      storage.appendMessages('session-1', [{ runId: 'run-1', message: user('stale') }], {
        runId: 'run-1',
        ...stale,
      }),
    ).rejects.toMatchObject(fenced);
    await expect(
      storage.updateRun('run-1', { status: 'failed', text: 'stale' }, stale),
    ).rejects.toMatchObject(fenced);
    await expect(storage.updateRun('run-1', {}, { epoch: claimed + 1 })).rejects.toMatchObject({
      code: 'run_fenced',
    });

    expect((await storage.listEvents('run-1', scope)).map((event) => event.seq)).toEqual([1]);
    expect((await storage.listMessages('session-1', scope)).map((entry) => entry.message.content)).toEqual([
      'go',
    ]);
    expect(await storage.getRun('run-1', scope)).toMatchObject({
      status: 'running',
      text: 'so far',
      epoch: claimed,
    });

    const current = { epoch: claimed };
    await storage.appendEvents('run-1', [token(2, 'new owner')], current);
    await storage.appendMessages('session-1', [{ runId: 'run-1', message: user('new') }], {
      runId: 'run-1',
      ...current,
    });
    await storage.updateRun('run-1', { status: 'completed', text: 'done' }, current);
    expect((await storage.listEvents('run-1', scope)).at(-1)).toMatchObject({ seq: 2, text: 'new owner' });
    expect(await storage.getRun('run-1', scope)).toMatchObject({ status: 'completed', text: 'done' });
    // Writes without a fence are not checked (callers outside a run's loop, older callers).
    await storage.updateRun('run-1', { text: 'unfenced' });
  });

  it('refuses a stale writer as stale, not as a conflict, where the new owner already wrote its seq', async () => {
    const storage = await create();
    await withRun(storage);
    await storage.appendEvents('run-1', [token(1)], { epoch: 0 });
    const claimed = (await storage.transitionRun('run-1', 'running', 'interrupted', 0)) as number;
    await storage.appendEvents('run-1', [token(2, 'final word')], { epoch: claimed });
    // The old owner's seq 2 (other content) and a resend of seq 1: both fenced, nothing changes.
    await expect(storage.appendEvents('run-1', [token(2, 'late')], { epoch: 0 })).rejects.toMatchObject({
      code: 'run_fenced',
    });
    await expect(
      storage.appendEvents('run-1', [token(1), token(2, 'late')], { epoch: 0 }),
    ).rejects.toMatchObject({ code: 'run_fenced' });
    expect(
      (await storage.listEvents('run-1', scope)).map((event) => event.type === 'token' && event.text),
    ).toEqual(['t1', 'final word']);
  });

  it('lets the new owner go on after a stale append raced its claim: no conflict, no gap', async () => {
    const storage = await create();
    await withRun(storage);
    await storage.appendEvents('run-1', [token(1)], { epoch: 0 });
    for (let round = 0; round < 5; round++) {
      const before = await storage.getRun('run-1', scope);
      const epoch = before?.epoch ?? 0;
      const last = (await storage.listEvents('run-1', scope)).length;
      const [append, claim] = await Promise.allSettled([
        storage.appendEvents('run-1', [token(last + 1, `stale ${round}`)], { epoch }),
        storage.transitionRun(
          'run-1',
          before?.status ?? 'running',
          round % 2 === 0 ? 'awaiting_approval' : 'running',
          epoch,
        ),
      ]);
      expect(claim).toMatchObject({ status: 'fulfilled', value: epoch + 1 });
      if (append.status === 'rejected') expect(append.reason).toMatchObject({ code: 'run_fenced' });
      // The stale append landed before the claim or not at all (a store may keep what readers
      // already saw before the fence rose): the new owner reads the log and goes on from it.
      const stored = await storage.listEvents('run-1', scope);
      expect(stored.map((event) => event.seq)).toEqual(stored.map((_event, index) => index + 1));
      await storage.appendEvents('run-1', [token(stored.length + 1, `owner ${round}`)], { epoch: epoch + 1 });
    }
  });
}
