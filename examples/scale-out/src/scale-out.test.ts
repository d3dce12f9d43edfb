import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { StewardEvent } from '@steward/core';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { mailAssistant, type Shared, sharedStorage, slowAssistant } from './instance.ts';

// Two instances in separate processes share the machine's PostgreSQL and Redis.
const shared: Shared = {
  databaseUrl: process.env.STEWARD_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test',
  redisUrl: process.env.STEWARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
  schema: `steward_scale_${process.pid}_${Date.now().toString(36)}`,
  prefix: `steward-scale-${process.pid}-${Date.now().toString(36)}`,
};
const instanceB = sharedStorage(shared);

afterAll(async () => {
  await instanceB.close();
  const admin = new pg.Client({ connectionString: shared.databaseUrl });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(shared.schema)} CASCADE`);
  await admin.end();
  const redis = new Redis(shared.redisUrl, { protocol: 2 });
  const keys = await redis.keys(`${shared.prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

describe('scale-out', () => {
  it('streams a run of instance A from instance B, and B ends it when A is killed mid-run', {
    timeout: 30_000,
  }, async () => {
    await instanceB.durable.migrate(); // Both instances race to migrate; the advisory lock lets one win.
    const { worker, runId } = await startInstanceA();

    // B tails the run through Redis while A streams it.
    const seen: StewardEvent[] = [];
    const tailing = (async () => {
      for await (const event of instanceB.runs.tail(runId, { blockMs: 200 })) {
        seen.push(event);
        if (seen.filter((item) => item.type === 'token').length === 10) worker.kill('SIGKILL');
      }
    })();

    // B notices A's heartbeat stopped and ends the run; the tail then sees `final`.
    const assistantB = slowAssistant(instanceB.storage, 1, 100);
    await expect
      .poll(() => assistantB.recoverInterruptedRuns({ staleAfterMs: 400 }), {
        timeout: 10_000,
        interval: 100,
      })
      .toEqual([runId]);
    await tailing;

    expect(seen.map((event) => event.seq)).toEqual(seen.map((_event, index) => index + 1));
    const final = seen.at(-1);
    expect(final).toMatchObject({ type: 'final', stop_reason: 'interrupted', partial: true });
    const tokens = seen.flatMap((event) => (event.type === 'token' ? [event.text] : [])).join('');
    expect(final?.type === 'final' && final.text).toBe(tokens);
    expect(seen.filter((event) => event.type === 'final')).toHaveLength(1);

    // The partial answer is in the durable history, and the durable event log matches the stream.
    const history = await instanceB.durable.listMessages('scale-out', { userId: 'ann' });
    expect(history.at(-1)?.message).toEqual({ role: 'assistant', content: tokens, partial: true });
    expect(await instanceB.durable.listEvents(runId, { userId: 'ann' })).toEqual(seen);
    expect(await instanceB.durable.getRun(runId, { userId: 'ann' })).toMatchObject({ status: 'interrupted' });
  });

  it('B resumes a run that was waiting for approval when A was killed; the email goes out once', {
    timeout: 30_000,
  }, async () => {
    await instanceB.durable.migrate();
    const { worker, runId } = await startInstanceA('approval');
    const seen: StewardEvent[] = [];
    let killed: Promise<unknown> | undefined;
    const tailing = (async () => {
      for await (const event of instanceB.runs.tail(runId, { blockMs: 200 })) {
        seen.push(event);
        if (event.type === 'approval_required') {
          // Kill A once the pause is stored (the run is then resumable, not interrupted).
          await expect
            .poll(async () => (await instanceB.durable.getRun(runId, { userId: 'ann' }))?.status, {
              timeout: 5_000,
              interval: 20,
            })
            .toBe('awaiting_approval');
          killed = new Promise((resolve) => worker.once('exit', resolve));
          worker.kill('SIGKILL');
        }
      }
    })();
    await expect.poll(() => killed, { timeout: 10_000 }).toBeDefined();
    await killed;

    // The user approves on B: the paused run is resumed there, and finishes there.
    const b = mailAssistant(instanceB.storage, shared, [{ text: 'Sent it to Bob.' }]);
    const { approval, run } = await b.assistant.approve('scale-call', { userId: 'ann' });
    expect(approval.status).toBe('approved');
    expect(run?.id).toBe(runId);
    expect(await run?.result).toMatchObject({ stopReason: 'stop', text: 'Sent it to Bob.' });
    await tailing;
    await b.close();

    expect(seen.map((event) => event.seq)).toEqual(seen.map((_event, index) => index + 1));
    expect(seen.map((event) => event.type)).toEqual([
      'run_started',
      'usage',
      'tool_request',
      'approval_required',
      'approval_resolved',
      'tool_result',
      'token',
      'token',
      'token',
      'token',
      'usage',
      'final',
    ]);
    const redis = new Redis(shared.redisUrl, { protocol: 2 });
    expect(await redis.lrange(`${shared.prefix}:sent`, 0, -1)).toEqual(['bob@example.com']);
    await redis.quit();
    expect(await instanceB.durable.getRun(runId, { userId: 'ann' })).toMatchObject({ status: 'completed' });
  });
});

async function startInstanceA(scenario = 'stream') {
  const worker = spawn(process.execPath, [new URL('./worker.ts', import.meta.url).pathname], {
    env: { ...process.env, STEWARD_SHARED: JSON.stringify(shared), STEWARD_SCENARIO: scenario },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const runId = await new Promise<string>((resolve, reject) => {
    createInterface({ input: worker.stdout }).once('line', resolve);
    worker.once('exit', (code) => reject(new Error(`instance A exited with ${code}`)));
  });
  return { worker, runId };
}
