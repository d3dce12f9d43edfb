import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import type { StewardEvent } from '@steward/core';
import { startGmailServer } from '@steward/example-mcp-gmail';
import { type MockReplyHandler, startMockOpenAI } from '@steward/testing';
import { createStewardClient, type StewardClient } from '@steward/transport-ws/client';
import { signTestToken } from '@steward/transport-ws/testing';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { logEntries, type OrchestratorProcess, startOrchestratorProcess } from './process.ts';
import { collect, removeSharedState, tokensOf, words } from './test-helpers.ts';

// Several orchestrator processes share the machine's PostgreSQL (one fresh schema) and Redis
// (one fresh key prefix), and one mock OpenAI server. The model streams `count N` as N words.
const databaseUrl = process.env.STEWARD_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const redisUrl = process.env.STEWARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const unique = `${process.pid}_${Date.now().toString(36)}`;
const schema = `steward_orchestrator_${unique}`;
const prefix = `steward-orchestrator-${unique}`;
const secret = 'orchestrator-test-secret-of-at-least-32-bytes';
const mcpSecret = 'orchestrator-test-service-token-secret-32+';

const reply: MockReplyHandler = (request) => {
  const messages = (request.body.messages ?? []) as { role: string; content?: unknown }[];
  if (messages.at(-1)?.role === 'tool') return { text: 'Done.' };
  const input = messages.findLast((message) => message.role === 'user')?.content;
  const count = typeof input === 'string' ? /^count (\d+)$/.exec(input) : null;
  if (count !== null) return { text: words(Number(count[1])), chunkDelayMs: 40 };
  if (input === 'fetch mail' || input === 'fetch secure mail')
    return {
      toolCalls: [
        {
          name: input === 'fetch mail' ? 'gmail__GMAIL_FETCH_EMAILS' : 'securemail__GMAIL_FETCH_EMAILS',
          arguments: { user_id: 'me', max_results: 2 },
        },
      ],
    };
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

const mock = await startMockOpenAI({ reply });
const gmail = await startGmailServer();
// Declared in STEWARD_MCP_SERVERS; it lets in only calls with a service JWT signed with mcpSecret.
const secureGmail = await startGmailServer({ auth: { secret: mcpSecret, issuer: 'steward' } });
const environment = {
  DATABASE_URL: databaseUrl,
  STEWARD_DATABASE_SCHEMA: schema,
  REDIS_URL: redisUrl,
  STEWARD_REDIS_PREFIX: prefix,
  OPENAI_API_KEY: 'sk-test',
  OPENAI_BASE_URL: mock.baseURL,
  STEWARD_MODEL: 'gpt-test',
  STEWARD_JWT_SECRET: secret,
  PORT: '0',
  // Fast enough for a test, slow enough that a busy machine never mistakes a live run for a dead one.
  STEWARD_HEARTBEAT_MS: '1000',
  STEWARD_RECOVERY_INTERVAL_MS: '500',
  STEWARD_MCP_SYNC_INTERVAL_MS: '500',
  STEWARD_MCP_SERVERS: JSON.stringify([
    {
      name: 'securemail',
      transport: 'streamable-http',
      url: secureGmail.mcpUrl,
      readOnlyTools: ['GMAIL_FETCH_EMAILS'],
      serviceAuth: {},
    },
  ]),
  STEWARD_MCP_JWT_SECRET: mcpSecret,
  // Admins may register the open Gmail mock, and only it: the operator allows its local origin.
  STEWARD_MCP_ALLOWED_ORIGINS: new URL(gmail.url).origin,
  STEWARD_MCP_ALLOWED_NETWORKS: '127.0.0.1',
};
const instances: OrchestratorProcess[] = [];
const launch = async (name: string, extra: Record<string, string> = {}) => {
  const instance = await startOrchestratorProcess(name, {
    ...environment,
    // Names its Postgres sessions, so a test can find (and cut) them.
    DATABASE_URL: `${databaseUrl}${databaseUrl.includes('?') ? '&' : '?'}application_name=${applicationName(name)}`,
    ...extra,
  });
  instances.push(instance);
  return instance;
};
const applicationName = (name: string) => `steward-orchestrator-${unique}-${name}`;
const token = await signTestToken({ secret, userId: 'ann', expiresIn: '10m' });
const client = (instance: OrchestratorProcess): StewardClient =>
  createStewardClient({ url: instance.url, token });

let a: OrchestratorProcess;
let b: OrchestratorProcess;
let d: OrchestratorProcess;
let e: OrchestratorProcess;

beforeAll(async () => {
  [a, b, d, e] = await Promise.all([launch('A'), launch('B'), launch('D'), launch('E')]);
});

afterEach((context) => {
  if (context.task.result?.state !== 'fail') return;
  for (const instance of instances) console.error(`--- ${instance.name}\n${instance.lines.join('\n')}`);
});

afterAll(async () => {
  await Promise.all(instances.map((instance) => instance.stop()));
  await Promise.all([mock.close(), gmail.stop(), secureGmail.stop()]);
  await removeSharedState({ databaseUrl, schema, redisUrl, prefix });
});

describe('the orchestrator service', () => {
  it('is alive and ready: Postgres and Redis answer, the declared MCP server is connected', async () => {
    for (const instance of [a, b]) {
      expect((await fetch(`${instance.url}/healthz`)).status).toBe(200);
      const ready = await fetch(`${instance.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({
        status: 'ready',
        checks: { postgres: 'ok', redis: 'ok' },
        mcp: [{ name: 'securemail', state: 'connected', tools: 2 }],
      });
    }
    // Its calls carry service JWTs the server accepts.
    expect(await fetchMail(client(a), 'fetch secure mail')).toBe(true);
  });

  it('caps a user’s active runs across replicas by default (5), with 429 and Retry-After; another user is unaffected', async () => {
    const mallory = await signTestToken({ secret, userId: 'mallory', expiresIn: '10m' });
    const respond = (instance: OrchestratorProcess, user = mallory) =>
      fetch(`${instance.url}/api/v1/respond`, {
        method: 'POST',
        headers: { authorization: `Bearer ${user}`, 'content-type': 'application/json' },
        body: JSON.stringify({ input: 'count 400' }),
      });
    const runs: string[] = [];
    for (const instance of [a, b, a, b, a]) {
      const answer = await respond(instance);
      expect(answer.status).toBe(202);
      runs.push(((await answer.json()) as { run_id: string }).run_id);
    }
    for (const instance of [a, b]) {
      const refused = await respond(instance);
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('1'); // One heartbeat (STEWARD_HEARTBEAT_MS).
      expect(await refused.json()).toMatchObject({ error: { code: 'too_many_active_runs' } });
    }
    const other = await respond(b, token);
    expect(other.status).toBe(202);
    // A run that ends gives its place back, whichever replica runs it.
    const malloryClient = createStewardClient({ url: a.url, token: mallory });
    await malloryClient.stop(runs[1] as string);
    await collect(malloryClient, runs[1] as string).done;
    const again = await respond(a);
    expect(again.status).toBe(202);
    runs.push(((await again.json()) as { run_id: string }).run_id);
    await Promise.all(
      runs.map(async (runId) => {
        await malloryClient.stop(runId);
        await collect(malloryClient, runId).done;
      }),
    );
    const otherRun = ((await other.json()) as { run_id: string }).run_id;
    await client(b).stop(otherRun);
  });

  it('streams a run started on A from B: every event once, in seq order', async () => {
    const { runId } = await client(a).respond('count 20');
    const events = await collect(client(b), runId).done;
    expectGapFree(events);
    expect(events[0]?.type).toBe('run_started');
    expect(events.at(-1)).toMatchObject({
      type: 'final',
      stop_reason: 'stop',
      partial: false,
      text: words(20),
    });
    expect(tokensOf(events)).toBe(words(20));
    expect(await upgradeStatus(b, runId)).toBe(101); // (The drain test expects 503 from this.)
    // `final` reaches readers (through Redis) just before the run's status is stored.
    await expect.poll(() => client(a).getRun(runId)).toMatchObject({ status: 'completed', text: words(20) });
  });

  it('keeps MCP servers registered through the API in Postgres, and every replica picks them up', async () => {
    const admin = await signTestToken({ secret, userId: 'root', claims: { roles: ['admin'] } });
    const registered = await fetch(`${b.url}/api/v1/tools/register`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'gmail',
        transport: 'streamable-http',
        url: gmail.mcpUrl,
        readOnlyTools: ['GMAIL_FETCH_EMAILS'],
      }),
    });
    expect(registered.status).toBe(201);
    expect(await registered.json()).toMatchObject({ server: { name: 'gmail', state: 'connected' } });

    const database = new pg.Client({ connectionString: databaseUrl });
    await database.connect();
    const stored = await database.query(
      `SELECT name FROM ${pg.escapeIdentifier(schema)}.mcp_registrations ORDER BY name`,
    );
    await database.end();
    // Only the registration: STEWARD_MCP_SERVERS is configuration, read at every start, never stored.
    expect(stored.rows).toEqual([{ name: 'gmail' }]);

    // A was running when B registered it: its sync loop connects the server within an interval.
    await expect.poll(() => fetchMail(client(a)), { timeout: 15_000, interval: 250 }).toBe(true);
    // Only what changed is registered again: the declared server, the same everywhere, never is.
    expect(logEntries(a, 'mcp_server_synced').map((entry) => entry.server)).toEqual(['gmail']);
    expect(logEntries(a, 'mcp_sync_failed')).toEqual([]);
  });

  it('drains A on SIGTERM: 503 for new runs, sockets closed with 1001, the run under way finishes', {
    timeout: 30_000,
  }, async () => {
    const { runId } = await client(a).respond('count 120');
    const onB = collect(client(b), runId);
    const socket = await openSocket(a, runId);
    await expect.poll(() => onB.events.filter((event) => event.type === 'token').length).toBeGreaterThan(2);

    a.child.kill('SIGTERM');
    expect((await socket.closed).code).toBe(1001);
    await expect.poll(async () => (await fetch(`${a.url}/readyz`)).status).toBe(503);
    const refused = await client(a)
      .respond('count 3')
      .catch((error: unknown) => error);
    expect(refused).toMatchObject({ status: 503, code: 'shutting_down' });
    const approval = await fetch(`${a.url}/api/v1/runs/${runId}/approvals`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ call_id: 'any', decision: 'approve' }),
    });
    expect(approval.status).toBe(503); // An approval could resume a paused run here.
    expect(await upgradeStatus(a, runId)).toBe(503);
    expect((await fetch(`${a.url}/healthz`)).status).toBe(200);
    expect(onB.events.some((event) => event.type === 'final')).toBe(false); // Still under way.

    const events = await onB.done;
    expectGapFree(events);
    expect(events.at(-1)).toMatchObject({
      type: 'final',
      stop_reason: 'stop',
      partial: false,
      text: words(120),
    });
    expect(await a.exited).toBe(0);
    expect(logEntries(a, 'drain_finished')).toEqual([
      expect.objectContaining({ finished: 1, parked: [], aborted: [] }),
    ]);

    // The socket A closed resumes on B after its last seq: the rest, each event once.
    const seen = socket.frames.at(-1)?.seq ?? 0;
    const resumed = await collect(client(b), runId, { afterSeq: seen }).done;
    expect([...socket.frames, ...resumed]).toEqual(events);
  });

  it('aborts a run still going at the drain deadline, keeping its partial answer', async () => {
    // C starts after the registration: it reads it from Postgres, with no sync interval to help.
    const c = await launch('C', { STEWARD_DRAIN_TIMEOUT_MS: '500', STEWARD_MCP_SYNC_INTERVAL_MS: '600000' });
    expect(await fetchMail(client(c))).toBe(true);

    const { runId, sessionId } = await client(c).respond('count 400');
    const onB = collect(client(b), runId);
    await expect.poll(() => onB.events.filter((event) => event.type === 'token').length).toBeGreaterThan(2);
    c.child.kill('SIGTERM');

    const events = await onB.done;
    expectGapFree(events);
    const partial = tokensOf(events);
    expect(partial.length).toBeLessThan(words(400).length);
    expect(events.at(-1)).toMatchObject({
      type: 'final',
      stop_reason: 'aborted',
      partial: true,
      text: partial,
    });
    expect(await c.exited).toBe(0);
    expect(logEntries(c, 'drain_finished')).toEqual([expect.objectContaining({ aborted: [runId] })]);
    await expect.poll(() => client(b).getRun(runId)).toMatchObject({ status: 'aborted' });
    expect((await client(b).history(sessionId)).at(-1)).toMatchObject({
      role: 'assistant',
      content: partial,
      partial: true,
    });
  });

  it('drains at once past a run waiting for approval; the approval, made on B, resumes it there', async () => {
    await expect.poll(() => fetchMail(client(e)), { timeout: 15_000, interval: 250 }).toBe(true);
    const { runId } = await client(e).respond('send mail');
    const onB = collect(client(b), runId);
    await expect.poll(async () => (await client(b).getRun(runId)).status).toBe('awaiting_approval');
    e.child.kill('SIGTERM');
    expect(await e.exited).toBe(0);
    expect(logEntries(e, 'drain_finished')).toEqual([
      expect.objectContaining({ parked: [runId], aborted: [] }),
    ]);

    const request = onB.events.find((event) => event.type === 'approval_required');
    expect(request).toBeDefined();
    await client(b).approve(runId, request?.type === 'approval_required' ? request.call_id : '');
    const events = await onB.done;
    expectGapFree(events);
    expect(events.at(-1)).toMatchObject({
      type: 'final',
      stop_reason: 'stop',
      partial: false,
      text: 'Done.',
    });
    expect(gmail.mailbox.sent.map((mail) => mail.to)).toEqual(['bob@example.com']);
  });

  it('ends the run of an instance that crashed as interrupted (a sibling recovers it)', async () => {
    const { runId } = await client(d).respond('count 400');
    const onB = collect(client(b), runId);
    await expect.poll(() => onB.events.filter((event) => event.type === 'token').length).toBeGreaterThan(2);
    d.child.kill('SIGKILL');

    const events = await onB.done;
    expectGapFree(events);
    expect(events.at(-1)).toMatchObject({
      type: 'final',
      stop_reason: 'interrupted',
      partial: true,
      text: tokensOf(events),
    });
    await expect.poll(() => client(b).getRun(runId)).toMatchObject({ status: 'interrupted' });
  });
  it('lives through Postgres dropping its connections: an idle client error is logged, not fatal', async () => {
    const database = new pg.Client({ connectionString: databaseUrl });
    await database.connect();
    // B's pool always holds an idle connection or two (it queries every recovery interval).
    const cutIdle = async () =>
      (
        await database.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND state = 'idle'`,
          [applicationName('B')],
        )
      ).rowCount;
    await expect.poll(cutIdle).toBeGreaterThan(0);
    await database.end();
    await expect.poll(() => logEntries(b, 'postgres_client_error').length).toBeGreaterThan(0);
    expect(b.child.exitCode).toBeNull();
    expect((await fetch(`${b.url}/readyz`)).status).toBe(200);
    const { runId } = await client(b).respond('count 3');
    expect((await collect(client(b), runId).done).at(-1)).toMatchObject({ type: 'final', text: words(3) });
  });
});

function expectGapFree(events: readonly StewardEvent[]): void {
  expect(events.map((event) => event.seq)).toEqual(events.map((_event, index) => index + 1));
  expect(events.filter((event) => event.type === 'final')).toHaveLength(1);
}

/** Runs `input` ("fetch mail" by default) and resolves whether the Gmail tool answered. */
async function fetchMail(on: StewardClient, input = 'fetch mail'): Promise<boolean> {
  const { runId } = await on.respond(input);
  const events = await collect(on, runId).done;
  return events.some((event) => event.type === 'tool_result' && event.error === undefined);
}

/** The HTTP status a WebSocket upgrade to the run gets (101 when it is accepted). */
function upgradeStatus(instance: OrchestratorProcess, runId: string): Promise<number | undefined> {
  const query = new URLSearchParams({ run_id: runId, token });
  return new Promise((resolve, reject) => {
    const upgrade = request(`${instance.url}/ws?${query}`, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
      },
    });
    upgrade.on('response', (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    upgrade.on('upgrade', (_response, socket) => {
      socket.destroy();
      resolve(101);
    });
    upgrade.on('error', reject);
    upgrade.end();
  });
}

/** A raw WebSocket on the run, to see the close code the client library hides. */
async function openSocket(instance: OrchestratorProcess, runId: string) {
  const query = new URLSearchParams({ run_id: runId, token });
  const socket = new WebSocket(`${instance.url.replace(/^http/, 'ws')}/ws?${query}`);
  const frames: StewardEvent[] = [];
  socket.addEventListener('message', (message) => frames.push(JSON.parse(String(message.data))));
  const closed = new Promise<CloseEvent>((resolve) => socket.addEventListener('close', resolve));
  await new Promise((resolve, reject) => {
    socket.addEventListener('open', resolve);
    socket.addEventListener('error', reject);
  });
  return { frames, closed };
}
