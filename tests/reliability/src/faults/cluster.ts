import type { StewardEvent } from '@steward/core';
import { startGmailServer } from '@steward/example-mcp-gmail';
import { type MockOpenAIServer, type MockReplyHandler, startMockOpenAI } from '@steward/testing';
import { signTestToken } from '@steward/transport-ws/testing';
import { Redis } from 'ioredis';
import pg from 'pg';
import { expect } from 'vitest';
import { type Reading, readOverSse, readOverWebSocket } from './readers.ts';
import { type Replica, startReplica } from './replica.ts';
import { openStoredLog, type StoredLog } from './stored-log.ts';

// Two orchestrator replicas share one fresh schema and key prefix of the machine's PostgreSQL and
// Redis, the mock OpenAI server and the Gmail mock. The model streams `count N` as N words and
// answers `send mail` with a Gmail send (a side effect: it waits for approval).
const databaseUrl = process.env.STEWARD_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const redisUrl = process.env.STEWARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const secret = 'reliability-faults-secret-of-at-least-32-bytes';

/** `w1 w2 … wN`: what the mock model streams for `count N`. */
export const words = (count: number) =>
  Array.from({ length: count }, (_value, index) => `w${index + 1}`).join(' ');

const reply: MockReplyHandler = (request) => {
  const messages = (request.body.messages ?? []) as { role: string; content?: unknown }[];
  if (messages.at(-1)?.role === 'tool') return { text: 'Done.' };
  const input = messages.findLast((message) => message.role === 'user')?.content;
  const count = typeof input === 'string' ? /^count (\d+)$/.exec(input) : null;
  if (count !== null) return { text: words(Number(count[1])), chunkDelayMs: 15 };
  if (input === 'send mail')
    return {
      toolCalls: [
        {
          name: 'gmail__GMAIL_SEND_EMAIL',
          arguments: { user_id: 'me', to: 'bob@example.com', subject: 'Hi', body: 'Hello Bob' },
        },
      ],
    };
  return { text: 'ok' };
};

/** What a scenario counts, for docs/reliability.md. */
export interface Counts {
  faults: number;
  eventsCompared: number;
  readers: number;
  sideEffects: number;
}

/** The services every scenario shares, started once per file. */
export interface Cluster {
  readonly mock: MockOpenAIServer;
  readonly gmail: Awaited<ReturnType<typeof startGmailServer>>;
  readonly stored: StoredLog;
  readonly token: string;
  /** Two fresh replicas, each with its own proxies (closed by {@link close}). */
  replicas(): Promise<[Replica, Replica]>;
  close(): Promise<void>;
}

export async function startCluster(): Promise<Cluster> {
  const unique = `${process.pid}_${Date.now().toString(36)}`;
  const schema = `steward_reliability_${unique}`;
  const prefix = `steward-reliability-${unique}`;
  const mock = await startMockOpenAI({ reply });
  const gmail = await startGmailServer();
  const stored = openStoredLog({ databaseUrl, schema, redisUrl, prefix });
  const started: Replica[] = [];
  const environment = {
    STEWARD_DATABASE_SCHEMA: schema,
    STEWARD_REDIS_PREFIX: prefix,
    OPENAI_API_KEY: 'sk-test',
    OPENAI_BASE_URL: mock.baseURL,
    STEWARD_MODEL: 'gpt-test',
    STEWARD_JWT_SECRET: secret,
    PORT: '0',
    STEWARD_HEARTBEAT_MS: '1000',
    STEWARD_RECOVERY_INTERVAL_MS: '500',
    STEWARD_MCP_SYNC_INTERVAL_MS: '500',
    STEWARD_MCP_SERVERS: JSON.stringify([
      {
        name: 'gmail',
        transport: 'streamable-http',
        url: gmail.mcpUrl,
        readOnlyTools: ['GMAIL_FETCH_EMAILS'],
      },
    ]),
  };
  let round = 0;
  return {
    mock,
    gmail,
    stored,
    token: await signTestToken({ secret, userId: 'ann', expiresIn: '1h' }),
    async replicas() {
      round++;
      const options = { databaseUrl, redisUrl, environment };
      // One after the other: the first migrates the fresh schema.
      const a = await startReplica(`A${round}`, options);
      const b = await startReplica(`B${round}`, options);
      started.push(a, b);
      return [a, b];
    },
    async close() {
      await Promise.all(started.map((replica) => replica.stop()));
      await Promise.all([mock.close(), gmail.stop(), stored.close()]);
      await removeSharedState(schema, prefix);
    },
  };
}

async function removeSharedState(schema: string, prefix: string): Promise<void> {
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  await admin.end();
  const redis = new Redis(redisUrl, { protocol: 2 });
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  await redis.quit();
}

/** Starts a run on `replica` through the API and resolves its id. */
export async function respond(replica: Replica, token: string, input: string): Promise<string> {
  const answer = await fetch(`${replica.url}/api/v1/respond`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ input }),
  });
  expect(answer.status).toBe(202);
  return ((await answer.json()) as { run_id: string }).run_id;
}

/** A WebSocket and an SSE reader of the run on each replica. */
export function readEverywhere(
  replicas: readonly Replica[],
  token: string,
  runId: string,
  bound: AbortSignal,
) {
  return replicas.flatMap((replica) => [
    readOverWebSocket(`ws@${replica.name}`, replica.url, token, runId, bound),
    readOverSse(`sse@${replica.name}`, replica.url, token, runId, bound),
  ]);
}

/** Resolves once `predicate` holds, checking on every turn of `poll` (a bounded wait, never a sleep). */
export async function until(predicate: () => boolean, what: string, boundMs = 20_000): Promise<void> {
  await expect.poll(predicate, { timeout: boundMs, interval: 20, message: what }).toBe(true);
}

const isFinished = (status: string | undefined) =>
  status !== undefined && status !== 'running' && status !== 'awaiting_approval';

/**
 * The scenario's verdict on one run. The stored log (PostgreSQL, and Redis where it is still
 * there) is gap-free, ends with `final`, and agrees across the two stores; the run's status tells
 * the truth (never `completed` with events missing); every reader saw a gap-free, duplicate-free
 * prefix of that log, equal event for event, and ended with `final` (then it has all of it) or a
 * terminal error, never with a silent close.
 */
export async function expectTruthfulRun(
  cluster: Cluster,
  runId: string,
  readings: readonly Reading[],
  counts: Counts,
  expectedText?: string,
): Promise<readonly StewardEvent[]> {
  await expect
    .poll(async () => (await cluster.stored.run(runId, 'ann'))?.status, { timeout: 30_000, interval: 100 })
    .toSatisfy(isFinished);
  const run = await cluster.stored.run(runId, 'ann');
  const durable = await cluster.stored.durable(runId, 'ann');
  const live = await cluster.stored.live(runId);
  const tail = `status ${run?.status}; log ends ${describeTail(durable)}`;
  expectGapFree(durable, `the durable log (${tail})`);
  if (live.length > 0)
    expect(
      live.map(summary),
      `Redis (live) and PostgreSQL (durable) disagree on the log (${tail}; live ends ${describeTail(live)})`,
    ).toEqual(durable.map(summary));
  const final = durable.at(-1);
  expect(final?.type, `the stored log of a ${run?.status} run ends without final`).toBe('final');
  if (final?.type === 'final') {
    const tokens = durable.flatMap((event) => (event.type === 'token' ? [event.text] : [])).join('');
    expect(final.text, `final.text is not the stored tokens: events are missing (${tail})`).toBe(tokens);
    if (run?.status === 'completed') {
      expect(final.stop_reason, tail).toBe('stop');
      expect(final.partial, tail).toBe(false);
      if (expectedText !== undefined) expect(tokens).toBe(expectedText);
    } else expect(final.stop_reason, `a ${run?.status} run whose final says stop (${tail})`).not.toBe('stop');
  }
  for (const reading of readings) {
    const where = `${reading.name} (${reading.ending ?? 'never ended'}${reading.error === undefined ? '' : `: ${reading.error}`}; ${tail})`;
    expect(
      reading.events.map((event) => event.seq),
      `${where}: lost or duplicated events`,
    ).toEqual(reading.events.map((_event, index) => index + 1));
    expect(reading.events, `${where}: events differ from the stored log`).toEqual(
      durable.slice(0, reading.events.length),
    );
    expect(['final', 'terminal_error'], `${where}: the stream ended without final or an error`).toContain(
      reading.ending,
    );
    if (reading.ending === 'final') expect(reading.events.length, where).toBe(durable.length);
    counts.eventsCompared += reading.events.length;
  }
  counts.eventsCompared += durable.length + live.length;
  counts.readers += readings.length;
  return durable;
}

/** `seq type` of an event, with the code of an error and the stop reason of a final. */
function summary(event: StewardEvent): string {
  const detail =
    event.type === 'error' ? ` ${event.code}` : event.type === 'final' ? ` ${event.stop_reason}` : '';
  return `${event.seq} ${event.type}${detail}`;
}

/** The last events of a log, for failure messages. */
export function describeTail(events: readonly StewardEvent[]): string {
  return events.slice(-5).map(summary).join(', ') || '(empty)';
}

function expectGapFree(events: readonly StewardEvent[], what: string): void {
  expect(
    events.map((event) => event.seq),
    `${what} has gaps or duplicates`,
  ).toEqual(events.map((_event, index) => index + 1));
  expect(events.filter((event) => event.type === 'final').length, `${what}: final count`).toBeLessThanOrEqual(
    1,
  );
}

/** Faults injected through a replica's proxies so far. */
export function faultsOf(replicas: readonly Replica[]): number {
  return replicas.reduce(
    (sum, replica) =>
      sum +
      Object.values(replica.postgres.faults).reduce((a, b) => a + b, 0) +
      Object.values(replica.redis.faults).reduce((a, b) => a + b, 0),
    0,
  );
}
