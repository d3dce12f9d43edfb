import type { StewardEvent, Storage } from '@steward/core';
import { expect, it } from 'vitest';
import { withRun } from './conformance-helpers.ts';

const token = (runId: string, seq: number, text = `t${seq}`): StewardEvent => ({
  type: 'token',
  text,
  run_id: runId,
  seq,
  timestamp: new Date(seq * 1_000).toISOString(),
});

const tokens = (from: number, to: number, runId = 'run-1'): StewardEvent[] =>
  Array.from({ length: to - from + 1 }, (_unused, index) => token(runId, from + index));

async function seqs(storage: Storage, scope: { afterSeq?: number; limit?: number } = {}) {
  return (await storage.listEvents('run-1', { userId: 'alice', ...scope })).map((event) => event.seq);
}

/** @internal The run events part of the storage conformance suite: ordered, idempotent, paged. */
export function runEventConformance(create: () => Promise<Storage> | Storage): void {
  it('appends events by seq with no gaps, and one of racing writers with other content wins', async () => {
    const storage = await create();
    await withRun(storage);
    await storage.appendEvents('run-1', tokens(1, 2));
    await expect(storage.appendEvents('run-1', [token('run-1', 4)])).rejects.toMatchObject({
      code: 'storage_error',
      details: { lastSeq: 2 },
    });
    await expect(storage.appendEvents('run-1', [token('run-1', 3), token('run-1', 5)])).rejects.toMatchObject(
      { code: 'storage_error' },
    );
    await expect(storage.appendEvents('run-1', [token('other-run', 3)])).rejects.toMatchObject({
      code: 'storage_error',
    });
    const racers = await Promise.allSettled(
      Array.from({ length: 5 }, (_unused, writer) =>
        storage.appendEvents('run-1', [token('run-1', 3, `writer ${writer}`)]),
      ),
    );
    expect(racers.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    for (const outcome of racers) {
      if (outcome.status === 'rejected')
        expect(outcome.reason).toMatchObject({ code: 'storage_error', details: { conflictSeq: 3 } });
    }
    expect(await seqs(storage)).toEqual([1, 2, 3]);
    expect(await seqs(storage, { afterSeq: 2 })).toEqual([3]);
    expect(await storage.listEvents('run-1', { userId: 'bob' })).toEqual([]);
    await expect(storage.appendEvents('missing', [token('missing', 1)])).rejects.toMatchObject({
      name: 'StewardError',
      code: 'not_found',
    });
  });

  it('stores a batch resent after a lost reply once, whether all of it or part of it was stored', async () => {
    const storage = await create();
    await withRun(storage);
    await storage.appendEvents('run-1', tokens(1, 3));
    await storage.appendEvents('run-1', tokens(1, 3));
    await storage.appendEvents('run-1', tokens(2, 5));
    await storage.appendEvents('run-1', tokens(5, 5));
    expect(await storage.listEvents('run-1', { userId: 'alice' })).toEqual(tokens(1, 5));
    // Resends racing each other and the first send: every one succeeds, each event is stored once.
    const resends = await Promise.allSettled(
      Array.from({ length: 5 }, () => storage.appendEvents('run-1', tokens(6, 8))),
    );
    expect(resends.map((outcome) => outcome.status)).toEqual(Array(5).fill('fulfilled'));
    expect(await storage.listEvents('run-1', { userId: 'alice' })).toEqual(tokens(1, 8));
  });

  it('refuses a resent batch whose stored seqs hold other content, storing none of it', async () => {
    const storage = await create();
    await withRun(storage);
    await storage.appendEvents('run-1', tokens(1, 3));
    const changed = token('run-1', 3, 'not what was stored');
    await expect(storage.appendEvents('run-1', [changed, token('run-1', 4)])).rejects.toMatchObject({
      code: 'storage_error',
      details: { conflictSeq: 3 },
    });
    await expect(
      storage.appendEvents('run-1', [token('run-1', 2), changed, token('run-1', 4)]),
    ).rejects.toMatchObject({ code: 'storage_error', details: { conflictSeq: 3 } });
    const retimed = { ...token('run-1', 1), timestamp: new Date(0).toISOString() };
    await expect(storage.appendEvents('run-1', [retimed])).rejects.toMatchObject({
      details: { conflictSeq: 1 },
    });
    expect(await storage.listEvents('run-1', { userId: 'alice' })).toEqual(tokens(1, 3));
  });

  it('pages through a run’s events: pages join up exactly, and end empty', async () => {
    const storage = await create();
    await withRun(storage);
    for (let first = 1; first <= 25; first += 5)
      await storage.appendEvents('run-1', tokens(first, first + 4));
    const pages: number[][] = [];
    let after = 0;
    for (;;) {
      const page = await seqs(storage, { afterSeq: after, limit: 7 });
      if (page.length === 0) break;
      pages.push(page);
      after = page.at(-1) as number;
    }
    expect(pages.map((page) => page.length)).toEqual([7, 7, 7, 4]);
    expect(pages.flat()).toEqual(tokens(1, 25).map((event) => event.seq));
    expect(await storage.listEvents('run-1', { userId: 'alice', afterSeq: 3, limit: 2 })).toEqual(
      tokens(4, 5),
    );
    expect(await seqs(storage, { afterSeq: 20, limit: 100 })).toEqual([21, 22, 23, 24, 25]);
    expect(await seqs(storage, { limit: 1 })).toEqual([1]);
    expect(await seqs(storage, { afterSeq: 25, limit: 5 })).toEqual([]);
    expect(await seqs(storage, { afterSeq: 1_000 })).toEqual([]);
    expect(await storage.listEvents('run-1', { userId: 'bob', limit: 5 })).toEqual([]);
  });

  it('refuses a page size that is not a whole number of 1 or more, and a negative afterSeq', async () => {
    const storage = await create();
    await withRun(storage);
    await storage.appendEvents('run-1', tokens(1, 3));
    for (const limit of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(storage.listEvents('run-1', { userId: 'alice', limit })).rejects.toMatchObject({
        code: 'invalid_input',
        details: { field: 'limit' },
      });
    }
    for (const afterSeq of [-1, 0.5]) {
      await expect(storage.listEvents('run-1', { userId: 'alice', afterSeq })).rejects.toMatchObject({
        code: 'invalid_input',
        details: { field: 'afterSeq' },
      });
    }
  });
}
