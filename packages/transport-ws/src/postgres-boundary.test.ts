import type { StewardError } from '@steward/core';
import { createPostgresStorage, type PostgresStorage } from '@steward/storage-postgres';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { gatedSteps, mailTool, open, readSse, refusal, testServers, userToken } from './test-helpers.ts';

// The exact inputs of the finding, against the real PostgreSQL: each test on a fresh schema.
const connectionString = process.env.STEWARD_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const { server } = testServers();
const schemas: string[] = [];
const storages: PostgresStorage[] = [];
let counter = 0;

afterAll(async () => {
  for (const storage of storages) await storage.close();
  await admin(async (client) => {
    for (const schema of schemas)
      await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  });
});

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A Postgres storage on a schema no other test uses, and SQL against that schema. */
function freshStorage() {
  const schema = `steward_boundary_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  schemas.push(schema);
  const storage = createPostgresStorage({ connectionString, schema });
  storages.push(storage);
  const sql = (text: string) =>
    admin((client) => client.query(text.replaceAll('{schema}', pg.escapeIdentifier(schema))));
  return { storage, schema, sql };
}

/** A server over a fresh Postgres schema whose warnings the test reads. */
async function postgresServer(steps: Parameters<typeof server>[0], tools: Parameters<typeof server>[1] = {}) {
  const { storage, schema, sql } = freshStorage();
  await storage.migrate();
  const warnings: StewardError[] = [];
  const started = await server(steps, {
    ...tools,
    storage,
    api: { onWarning: (warning) => warnings.push(warning) },
  });
  return { ...started, schema, sql, warnings };
}

async function call(url: string, path: string, init: { token: string; body?: unknown; method?: string }) {
  const response = await fetch(`${url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      authorization: `Bearer ${init.token}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    body: text === '' ? undefined : JSON.parse(text),
  };
}

const fieldsOf = (body: { error: { details?: { issues?: { path: string }[] } } }) =>
  body.error.details?.issues?.map((issue) => issue.path);

async function rowCounts(sql: (text: string) => Promise<pg.QueryResult>) {
  const counts: Record<string, number> = {};
  for (const table of ['sessions', 'runs', 'messages', 'run_events', 'audit_log']) {
    counts[table] = Number((await sql(`SELECT count(*) AS n FROM {schema}.${table}`)).rows[0].n);
  }
  return counts;
}

describe('control characters at the boundary (PostgreSQL storage)', () => {
  it('refuses NUL and control characters in respond, history and path ids with 400 naming the field, storing nothing', async () => {
    const { url, sql } = await postgresServer([{ text: 'never' }]);
    const token = await userToken('ann');
    const cases: [string, { body?: unknown; method?: string }, string][] = [
      ['/api/v1/respond', { body: { input: 'a\u0000b' } }, 'input'],
      ['/api/v1/respond', { body: { input: 'a\u001bb' } }, 'input'],
      ['/api/v1/respond', { body: { input: 'Hi', session_id: 's\u0001' } }, 'session_id'],
      [
        '/api/v1/respond',
        { body: { input: 'Hi', options: { tool_overrides: { deny: ['mail\u0000'] } } } },
        'options.tool_overrides.deny.0',
      ],
      ['/api/v1/respond', { body: { input: 'lone \ud800 surrogate' } }, 'input'],
      ['/api/v1/history?session_id=s%00', {}, 'session_id'],
      ['/api/v1/runs/r%01', {}, 'run_id'],
      ['/api/v1/runs/r%00/events', {}, 'run_id'],
      ['/api/v1/runs/r%00/stop', { method: 'POST' }, 'run_id'],
    ];
    for (const [path, init, field] of cases) {
      const answer = await call(url, path, { token, ...init });
      expect(answer.status, path).toBe(400);
      expect(answer.body.error.code).toBe('invalid_request');
      expect(fieldsOf(answer.body), path).toContain(field);
    }
    expect(await rowCounts(sql)).toEqual({ sessions: 0, runs: 0, messages: 0, run_events: 0, audit_log: 0 });
    // Ordinary whitespace in free text is fine.
    expect(
      (await call(url, '/api/v1/respond', { token, body: { input: 'line one\n\tline two\r\n' } })).status,
    ).toBe(202);
  });

  it('refuses a control character in call_id and NUL in reason (REST and WebSocket), leaving the approval pending', async () => {
    const { tool, sent } = mailTool();
    const { url, sql, assistant } = await postgresServer(
      [{ toolCalls: [{ name: 'send_email', args: { to: 'bob@x.y' }, callId: 'c1' }] }, { text: 'Sent.' }],
      { tools: [tool] },
    );
    const token = await userToken('ann');
    const { run_id } = (await call(url, '/api/v1/respond', { token, body: { input: 'Mail bob' } })).body;
    const socket = open(url, { run_id, token });
    await socket.until((frame) => frame.type === 'approval_required');
    await expect
      .poll(async () => (await assistant.getRun(run_id, { userId: 'ann' }))?.status)
      .toBe('awaiting_approval');
    const before = await rowCounts(sql);

    const approvals = `/api/v1/runs/${run_id}/approvals`;
    const badCall = await call(url, approvals, { token, body: { call_id: 'c1\u0001', decision: 'approve' } });
    expect(badCall.status).toBe(400);
    expect(fieldsOf(badCall.body)).toEqual(['call_id']);
    const badReason = await call(url, approvals, {
      token,
      body: { call_id: 'c1', decision: 'deny', reason: 'no\u0000' },
    });
    expect(badReason.status).toBe(400);
    expect(fieldsOf(badReason.body)).toEqual(['reason']);

    socket.ws.send(JSON.stringify({ type: 'deny', call_id: 'c1', reason: 'no\u0000' }));
    socket.ws.send(JSON.stringify({ type: 'approve', call_id: 'c1\u0001' }));
    const errors = (
      await socket.until(() => socket.frames.filter((frame) => frame.type === 'error').length === 2)
    ).filter((frame) => frame.type === 'error');
    expect(errors).toEqual([
      expect.objectContaining({
        code: 'invalid_frame',
        message: expect.stringContaining('reason: must not contain'),
      }),
      expect.objectContaining({
        code: 'invalid_frame',
        message: expect.stringContaining('call_id: must not contain'),
      }),
    ]);
    expect(errors.every((frame) => frame.seq === undefined)).toBe(true);
    expect(await refusal(url, { run_id, token, session_id: 's\u0000' })).toBe(400);
    expect(await refusal(url, { run_id: `${run_id}\u0001`, token })).toBe(400);

    // Nothing was decided or stored; the call still waits, and a good decision goes through.
    expect(await assistant.storage.getApproval('c1', { userId: 'ann' })).toMatchObject({ status: 'pending' });
    expect(await rowCounts(sql)).toEqual(before);
    expect(sent).toEqual([]);
    expect((await call(url, approvals, { token, body: { call_id: 'c1', decision: 'approve' } })).status).toBe(
      200,
    );
    await socket.closed;
    expect(sent).toEqual(['bob@x.y']);
  });
});

describe('storage failures in Steward’s words (PostgreSQL storage)', () => {
  it('answers 503 storage_error with a request id and no database text; the text goes to onWarning', async () => {
    const { url, sql, schema, warnings, assistant } = await postgresServer([{ text: 'done' }]);
    const token = await userToken('ann');
    const ended = await assistant.start({ input: 'Hi', userId: 'ann' });
    await ended.result;
    await sql('ALTER TABLE {schema}.sessions RENAME TO sessions_gone');

    const answers = [
      await call(url, '/api/v1/respond', { token, body: { input: 'Hi' } }),
      await call(url, `/api/v1/history?session_id=${ended.sessionId}`, { token }),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(503);
      expect(answer.body).toEqual({
        error: {
          code: 'storage_error',
          message: 'Storage failed; try again. The server log has the details.',
          request_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        },
      });
      expect(answer.headers.get('x-request-id')).toBe(answer.body.error.request_id);
      const warning = warnings.find((item) => item.details.requestId === answer.body.error.request_id);
      // The server's warning has what the client must not see: the database's own words.
      expect(causeChain(warning)).toContain('does not exist');
      expect(answer.text).not.toContain('does not exist');
      expect(answer.text).not.toContain(schema);
      expect(answer.text).not.toMatch(/relation|sessions|postgres|sql/i);
    }
  });

  it('sends a stream failure as a stable WebSocket error frame and SSE comment, never the database text', async () => {
    const { steps, open: release } = gatedSteps(1);
    const { url, sql, schema, warnings, assistant } = await postgresServer([{ text: 'done' }, ...steps]);
    const token = await userToken('ann');
    const ended = await assistant.start({ input: 'Hi', userId: 'ann' });
    await ended.result;
    const live = await assistant.start({ input: 'Wait', userId: 'ann' });
    await sql('ALTER TABLE {schema}.run_events RENAME TO run_events_gone');

    // A finished run replays from storage: the WebSocket gets an error frame, then 1011.
    const socket = open(url, { run_id: ended.id, token });
    expect(await socket.closed).toMatchObject({ code: 1011 });
    expect(socket.frames).toEqual([
      {
        type: 'error',
        run_id: ended.id,
        code: 'storage_error',
        message: 'Storage failed; try again. The server log has the details.',
        retryable: false,
      },
    ]);
    // A live run's SSE stream reads storage first: the failure is a comment in Steward's words.
    const sse = await fetch(`${url}/api/v1/runs/${live.id}/events`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(sse.status).toBe(200);
    const text = await sse.text();
    expect(text).toContain(
      `: error {"code":"storage_error","message":"Storage failed; try again. The server log has the details.","run_id":"${live.id}"}`,
    );
    for (const body of [text, JSON.stringify(socket.frames)]) {
      expect(body).not.toContain(schema);
      expect(body).not.toMatch(/relation|run_events|does not exist/i);
    }
    // The operator's log has the database's words, through the warning's causes.
    expect(warnings.map(causeChain)).toEqual([
      expect.stringMatching(/WebSocket failed: .*does not exist/s),
      expect.stringMatching(/SSE failed: .*does not exist/s),
    ]);
    expect(warnings.map((warning) => warning.details.runId)).toEqual([ended.id, live.id]);
    release();
    await live.result;
  });

  it('tells the reader of a run that failed in storage in Steward’s words, never the database text', async () => {
    const { steps, open: release } = gatedSteps(1);
    const { url, sql, schema, assistant } = await postgresServer(steps);
    const token = await userToken('ann');
    const run = await assistant.start({ input: 'Hi', userId: 'ann' });
    const socket = open(url, { run_id: run.id, token });
    await socket.until((frame) => frame.type === 'run_started');
    // The answer cannot be stored: the run fails after it started (after the 202 of respond).
    await sql('ALTER TABLE {schema}.messages RENAME TO messages_gone');
    release();
    const stored = await run.result;
    expect(causeChain(stored.error)).toContain('does not exist');
    await socket.closed;
    const sse = await readSse(
      await fetch(`${url}/api/v1/runs/${run.id}/events`, { headers: { authorization: `Bearer ${token}` } }),
    );
    for (const events of [socket.frames, sse.map((item) => item.data)]) {
      const error = events.find((event) => event.type === 'error');
      expect(error).toMatchObject({
        code: 'storage_error',
        message: 'The run failed in storage. The server log has the details.',
      });
      expect(events.at(-1)).toMatchObject({ type: 'final', stop_reason: 'error' });
      expect(JSON.stringify(events)).not.toContain(schema);
      expect(JSON.stringify(events)).not.toMatch(/relation|messages_gone|does not exist/i);
    }
  });
});

/** Every message down an error's `cause` chain, as an operator's log prints it. */
function causeChain(error: unknown): string {
  const messages: string[] = [];
  for (let at = error; at instanceof Error && messages.length < 10; at = at.cause) messages.push(at.message);
  return messages.join(' <- ');
}
