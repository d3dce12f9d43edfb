import { describe, expect, it } from 'vitest';
import type { StewardEvent } from '../events/stream-event.ts';
import { createInMemoryStorage } from './in-memory-storage.ts';

const token = (seq: number, runId = 'r1', text = `t${seq}`): StewardEvent & { type: 'token' } => ({
  type: 'token',
  text,
  run_id: runId,
  seq,
  timestamp: new Date(0).toISOString(),
});

async function withRun() {
  const storage = createInMemoryStorage({ maxMessageBytes: 200 });
  await storage.ensureSession('s1', { userId: 'alice' });
  const now = new Date().toISOString();
  await storage.createRun({
    id: 'r1',
    sessionId: 's1',
    userId: 'alice',
    status: 'running',
    createdAt: now,
    updatedAt: now,
  });
  return storage;
}

describe('createInMemoryStorage', () => {
  it('accepts only the next seq (or a resend of what it holds), storing nothing of a bad batch', async () => {
    const storage = await withRun();
    await storage.appendEvents('r1', [token(1), token(2)]);
    await expect(storage.appendEvents('r1', [token(3), token(5)])).rejects.toMatchObject({
      code: 'storage_error',
    });
    await expect(storage.appendEvents('r1', [token(2, 'r1', 'other')])).rejects.toMatchObject({
      code: 'storage_error',
      details: { conflictSeq: 2 },
    });
    await expect(storage.appendEvents('r1', [token(3, 'other')])).rejects.toMatchObject({
      code: 'storage_error',
    });
    expect((await storage.listEvents('r1', { userId: 'alice' })).map((event) => event.seq)).toEqual([1, 2]);
    // A resend whose copy has the same content in another key order is the same batch.
    const { timestamp, seq, run_id, text, type } = token(2);
    await storage.appendEvents('r1', [{ timestamp, seq, run_id, text, type }, token(3)]);
    expect((await storage.listEvents('r1', { userId: 'alice' })).map((event) => event.seq)).toEqual([
      1, 2, 3,
    ]);
    await expect(storage.appendEvents('nope', [token(1)])).rejects.toMatchObject({ code: 'not_found' });
  });

  it("keeps users apart: another user's session, messages, run and events read as missing", async () => {
    const storage = await withRun();
    await storage.appendMessages('s1', [{ runId: 'r1', message: { role: 'user', content: 'secret' } }]);
    await storage.appendEvents('r1', [token(1)]);
    const bob = { userId: 'bob' };
    expect(await storage.getSession('s1', bob)).toBeUndefined();
    expect(await storage.listMessages('s1', bob)).toEqual([]);
    expect(await storage.getRun('r1', bob)).toBeUndefined();
    expect(await storage.listEvents('r1', bob)).toEqual([]);
    await expect(storage.ensureSession('s1', bob)).rejects.toMatchObject({ code: 'session_not_found' });
  });

  it('rejects a bad or oversized message without losing what was stored', async () => {
    const storage = await withRun();
    await storage.appendMessages('s1', [{ runId: 'r1', message: { role: 'user', content: 'kept' } }]);
    await expect(
      storage.appendMessages('s1', [
        { runId: 'r1', message: { role: 'user', content: 'fine' } },
        { runId: 'r1', message: { role: 'user', content: 'x'.repeat(500) } },
      ]),
    ).rejects.toMatchObject({ code: 'storage_error' });
    await expect(
      storage.appendMessages('s1', [{ runId: 'r1', message: { role: 'robot', content: 1 } as never }]),
    ).rejects.toMatchObject({ code: 'storage_error' });
    const stored = await storage.listMessages('s1', { userId: 'alice' });
    expect(stored.map((entry) => entry.message.content)).toEqual(['kept']);
  });

  it('returns copies, so callers cannot change what is stored', async () => {
    const storage = await withRun();
    await storage.appendMessages('s1', [{ runId: 'r1', message: { role: 'user', content: 'original' } }]);
    const [first] = await storage.listMessages('s1', { userId: 'alice' });
    (first?.message as { content: string }).content = 'changed';
    expect((await storage.listMessages('s1', { userId: 'alice' }))[0]?.message.content).toBe('original');
  });

  it('lists the newest messages in append order', async () => {
    const storage = await withRun();
    await storage.appendMessages(
      's1',
      ['a', 'b', 'c'].map((content) => ({ runId: 'r1', message: { role: 'user' as const, content } })),
    );
    const newest = await storage.listMessages('s1', { userId: 'alice', limit: 2 });
    expect(newest.map((entry) => entry.message.content)).toEqual(['b', 'c']);
  });
});
