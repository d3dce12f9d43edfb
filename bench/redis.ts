// Redis scenarios of `npm run bench`: events through the run store (atomic appends, tailing from
// another connection) against raw ioredis XADD and XREAD doing the same, in the same run.
import type { StewardEvent } from '@steward/core';
import { createRedisRunStore } from '@steward/storage-redis';
import { Redis } from 'ioredis';

const url = process.env.STEWARD_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

const token = (runId: string, seq: number): StewardEvent => ({
  type: 'token',
  text: `w${seq}`,
  run_id: runId,
  seq,
  timestamp: new Date().toISOString(),
});

/** `events` appended one by one while another connection tails them; events/s and append-to-read latency. */
export async function redisRunStream(events: number) {
  const prefix = `steward-bench-${process.pid}-${Date.now().toString(36)}`;
  const admin = new Redis(url, { protocol: 2 });
  try {
    await admin.ping();
  } catch {
    admin.disconnect();
    return undefined;
  }
  const store = createRedisRunStore({ url, prefix });

  // Steward: appendEvents per event, tail() on another connection.
  const runId = 'bench-run';
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  let started = performance.now();
  const reading = (async () => {
    for await (const event of store.tail(runId, { blockMs: 1_000 })) {
      latencies.push(performance.now() - (sentAt.get(event.seq) ?? performance.now()));
      if (event.seq === events) return;
    }
  })();
  for (let seq = 1; seq <= events; seq++) {
    sentAt.set(seq, performance.now());
    await store.appendEvents(runId, [token(runId, seq)]);
  }
  await reading;
  const stewardMs = performance.now() - started;

  // Baseline: raw XADD with the same ids, XREAD BLOCK on a second connection.
  const key = `${prefix}:raw`;
  const reader = new Redis(url, { protocol: 2 });
  const writer = new Redis(url, { protocol: 2 });
  const rawSentAt = new Map<number, number>();
  const rawLatencies: number[] = [];
  started = performance.now();
  const rawReading = (async () => {
    let last = '0-0';
    let received = 0;
    while (received < events) {
      const result = (await reader.call('XREAD', 'BLOCK', 1_000, 'STREAMS', key, last)) as
        | [string, [string, string[]][]][]
        | null;
      for (const [, entries] of result ?? []) {
        for (const [id, fields] of entries) {
          last = id;
          received++;
          const seq = Number(id.split('-')[0]);
          JSON.parse(fields[1] as string);
          rawLatencies.push(performance.now() - (rawSentAt.get(seq) ?? performance.now()));
        }
      }
    }
  })();
  for (let seq = 1; seq <= events; seq++) {
    rawSentAt.set(seq, performance.now());
    await writer.xadd(key, `${seq}-1`, 'e', JSON.stringify(token('raw', seq)));
  }
  await rawReading;
  const baselineMs = performance.now() - started;

  const keys = await admin.keys(`${prefix}:*`);
  if (keys.length > 0) await admin.del(...keys);
  await Promise.all([store.close(), reader.quit(), writer.quit(), admin.quit()]);
  return {
    events,
    steward_events_per_s: Math.round((events / stewardMs) * 1_000),
    baseline_events_per_s: Math.round((events / baselineMs) * 1_000),
    steward_p99_append_to_read_ms: Number(percentile(latencies, 99).toFixed(3)),
    baseline_p99_append_to_read_ms: Number(percentile(rawLatencies, 99).toFixed(3)),
    ratio: Number((stewardMs / baselineMs).toFixed(3)),
  };
}
