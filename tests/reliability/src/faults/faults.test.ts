import type { StewardEvent } from '@steward/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { printFigures, recordFigure } from '../budget.ts';
import {
  type Cluster,
  type Counts,
  describeTail,
  expectTruthfulRun,
  faultsOf,
  readEverywhere,
  respond,
  startCluster,
  until,
  words,
} from './cluster.ts';
import type { Reading } from './readers.ts';
import type { Replica } from './replica.ts';

// Fault injection: each scenario starts two fresh orchestrator replicas whose PostgreSQL and Redis
// connections each go through their own fault proxies, runs a real run through the API, faults
// one replica's connections at the worst moment, and checks every reader against the stored log.
let cluster: Cluster;
let current: Replica[] = [];
beforeAll(async () => {
  cluster = await startCluster();
});
afterEach((context) => {
  if (context.task.result?.state === 'fail')
    for (const replica of current)
      console.error(`--- ${replica.name}\n${replica.lines.slice(-60).join('\n')}`);
});
afterAll(async () => {
  await cluster?.close();
  printFigures('fault injection');
});

/** Runs a scenario with fresh replicas and records its figures, pass or fail. */
async function scenario(name: string, body: (a: Replica, b: Replica, counts: Counts) => Promise<void>) {
  const [a, b] = await cluster.replicas();
  current = [a, b];
  const counts: Counts = { faults: 0, eventsCompared: 0, readers: 0, sideEffects: 0 };
  const started = performance.now();
  let failed = true;
  try {
    await body(a, b, counts);
    failed = false;
  } finally {
    counts.faults = faultsOf([a, b]);
    recordFigure({
      kind: 'scenario',
      name,
      ...counts,
      ms: Math.round(performance.now() - started),
      ...(failed ? { failed } : {}),
    });
  }
}

const tokensSeen = (reading: Reading) =>
  reading.events.filter((event: StewardEvent) => event.type === 'token').length;
const bound = () => AbortSignal.timeout(45_000);
const hold = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('faults under two replicas', () => {
  // Finding 2's reproduction: Redis replies held 600 ms, then the connection cut, mid-run.
  it('pause then cut Redis under the replica running the run: no reader loses an event', {
    timeout: 90_000,
  }, async () => {
    await scenario('pause then cut Redis mid-run', async (a, b, counts) => {
      const runId = await respond(a, cluster.token, 'count 150');
      const readers = readEverywhere([a, b], cluster.token, runId, bound());
      await until(() => tokensSeen(readers[2]?.reading as Reading) >= 15, 'B’s reader is under way');
      a.redis.pause('replies');
      // The fault is a 600 ms stall (the duration is the fault, not a wait for something).
      await hold(600);
      a.redis.cut();
      a.redis.resume();
      const readings = await Promise.all(readers.map((reader) => reader.done));
      await expectTruthfulRun(cluster, runId, readings, counts, words(150));
      expect(a.alive() && b.alive()).toBe(true);
    });
  });

  // Finding 3: a checked-out pg client cut mid-query must fail the operation, not the process.
  it('reset PostgreSQL under the replica running the run: the replica lives, readers lose nothing', {
    timeout: 90_000,
  }, async () => {
    await scenario('reset PostgreSQL mid-run', async (a, b, counts) => {
      const runId = await respond(a, cluster.token, 'count 150');
      const readers = readEverywhere([a, b], cluster.token, runId, bound());
      await until(() => tokensSeen(readers[2]?.reading as Reading) >= 15, 'B’s reader is under way');
      a.postgres.reset();
      const readings = await Promise.all(readers.map((reader) => reader.done));
      expect(a.alive(), `replica A died: ${a.lines.slice(-5).join('\n')}`).toBe(true);
      await expectTruthfulRun(cluster, runId, readings, counts);
    });
  });

  it('decides an approval on B while A’s connections are stalled and then cut: exactly one email', {
    timeout: 90_000,
  }, async () => {
    await scenario('cut mid-approval', async (a, b, counts) => {
      const sentBefore = cluster.gmail.mailbox.sent.length;
      const runId = await respond(a, cluster.token, 'send mail');
      const readers = readEverywhere([a, b], cluster.token, runId, bound());
      await until(
        () =>
          readers.every((reader) =>
            reader.reading.events.some((event) => event.type === 'approval_required'),
          ),
        'every reader sees the approval request',
      );
      const request = readers[0]?.reading.events.find((event) => event.type === 'approval_required');
      if (request?.type !== 'approval_required') throw new Error('no approval request');
      a.postgres.pause();
      a.redis.pause();
      const decided = await fetch(`${b.url}/api/v1/runs/${runId}/approvals`, {
        method: 'POST',
        headers: { authorization: `Bearer ${cluster.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ call_id: request.call_id, decision: 'approve' }),
      });
      expect(decided.status).toBe(200);
      a.postgres.cut();
      a.redis.cut();
      a.postgres.resume();
      a.redis.resume();
      const readings = await Promise.all(readers.map((reader) => reader.done));
      const log = await expectTruthfulRun(cluster, runId, readings, counts);
      counts.sideEffects = cluster.gmail.mailbox.sent.length - sentBefore;
      const result = log.find((event) => event.type === 'tool_result');
      // Never twice. Exactly once when the run reports the call succeeded; none when it reports an error.
      expect(counts.sideEffects, `emails sent for one approval (log: ${describeTail(log)})`).toBe(
        result?.type === 'tool_result' && result.error === undefined ? 1 : 0,
      );
      expect(result, `the approved call has no result (log: ${describeTail(log)})`).toBeDefined();
      expect(a.alive() && b.alive()).toBe(true);
    });
  });

  it('replays a finished run from B while B’s connections are stalled and cut: every event once', {
    timeout: 90_000,
  }, async () => {
    await scenario('cut mid-replay', async (a, b, counts) => {
      const runId = await respond(a, cluster.token, 'count 200');
      const first = readEverywhere([a], cluster.token, runId, bound());
      await Promise.all(first.map((reader) => reader.done));
      const replays = readEverywhere([b], cluster.token, runId, bound());
      // Fault B as soon as a replay has begun: mid-replay for the slowest reader at least.
      await until(() => replays.some((reader) => reader.reading.events.length > 0), 'a replay started');
      b.redis.pause();
      b.postgres.pause();
      await hold(300);
      b.redis.cut();
      b.postgres.cut();
      b.redis.resume();
      b.postgres.resume();
      // A reader that opens during the aftermath must also get everything.
      const late = readEverywhere([b], cluster.token, runId, bound());
      const readings = await Promise.all([...first, ...replays, ...late].map((reader) => reader.done));
      await expectTruthfulRun(cluster, runId, readings, counts, words(200));
      expect(a.alive() && b.alive()).toBe(true);
    });
  });
});
