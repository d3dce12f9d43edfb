import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { InputRequiredEvent, StewardEvent } from '@steward/core';
import { createMcpRegistry } from '@steward/mcp';
import { describe, expect, it } from 'vitest';
import { createJwtAuth } from './auth.ts';
import { createStewardClient, StewardClientError } from './client.ts';
import { open, readSse, secret, testServers, userToken } from './test-helpers.ts';

const { server, cleanups } = testServers();
const require = createRequire(import.meta.url);
const everythingEntry = join(
  dirname(require.resolve('@modelcontextprotocol/server-everything/package.json')),
  'dist/index.js',
);
const tool = 'everything__trigger-elicitation-request';

/** A Steward server whose model calls server-everything's eliciting tool once, then answers. */
async function elicitingServer() {
  const registry = createMcpRegistry({
    servers: [
      {
        name: 'everything',
        transport: 'stdio',
        command: process.execPath,
        args: [everythingEntry, 'stdio'],
        readOnlyTools: ['trigger-elicitation-request'],
      },
    ],
  });
  await registry.ready();
  cleanups.push(() => registry.close());
  return server([{ toolCalls: [{ name: tool, args: {} }] }, { text: 'Thanks.' }], { tools: [registry] });
}

const post = (url: string, token: string, body: unknown) =>
  fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

interface ErrorAnswer {
  readonly error: { readonly code: string; readonly details: { readonly issues: unknown[] } };
}

async function answer(response: Response) {
  return { status: response.status, body: (await response.json()) as ErrorAnswer };
}

describe('answering a request for input over the API', () => {
  it('GET /runs/:run_id/inputs lists the requests still waiting, to the run’s owner only, and none once answered', async () => {
    const { url, assistant } = await elicitingServer();
    const ann = await userToken('ann');
    const run = await assistant.start({ input: 'Ask me', userId: 'ann' });
    const client = createStewardClient({ url, token: ann });
    const sse = await fetch(`${url}/api/v1/runs/${run.id}/events`, {
      headers: { authorization: `Bearer ${ann}` },
    });
    await readSse(sse, (item) => item.data.type === 'input_required');
    // Events are stored in batches: the request is listed once its batch is written.
    await expect.poll(async () => (await client.listInputs(run.id)).length, { timeout: 10_000 }).toBe(1);
    const [waiting] = await client.listInputs(run.id);
    expect(waiting).toMatchObject({ type: 'input_required', server: 'everything', run_id: run.id });
    const bob = await fetch(`${url}/api/v1/runs/${run.id}/inputs`, {
      headers: { authorization: `Bearer ${await userToken('bob')}` },
    });
    expect(bob.status).toBe(404);

    await client.respondToInput(run.id, waiting?.request_id as string, { action: 'decline' });
    await expect.poll(async () => client.listInputs(run.id), { timeout: 10_000 }).toEqual([]);
  });

  it('POST /runs/:run_id/inputs/:request_id checks the body and the content, answers once, the owner (or the run’s token) only', async () => {
    const { url, assistant } = await elicitingServer();
    const ann = await userToken('ann');
    const run = await assistant.start({ input: 'Ask me', userId: 'ann' });
    const sse = await fetch(`${url}/api/v1/runs/${run.id}/events`, {
      headers: { authorization: `Bearer ${ann}` },
    });
    const seen = await readSse(sse, (item) => item.data.type === 'input_required');
    const request = seen.at(-1)?.data as InputRequiredEvent;
    expect(request).toMatchObject({ type: 'input_required', server: 'everything', mode: 'form' });
    const inputs = `${url}/api/v1/runs/${run.id}/inputs`;
    const path = `${inputs}/${request.request_id}`;

    expect(await answer(await post(path, ann, {}))).toMatchObject({
      status: 400,
      body: {
        error: {
          code: 'invalid_request',
          details: { issues: [expect.objectContaining({ path: 'action' })] },
        },
      },
    });
    expect(
      await answer(await post(path, ann, { action: 'accept', content: { name: 'A' }, extra: 1 })),
    ).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_request' } },
    });
    expect((await post(path, ann, '{not json')).status).toBe(400);
    const misfit = await answer(await post(path, ann, { action: 'accept', content: { integer: 500 } }));
    expect(misfit).toMatchObject({ status: 400, body: { error: { code: 'invalid_input' } } });
    expect(misfit.body.error.details.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'content.integer' }),
        expect.objectContaining({ path: 'content.name' }),
      ]),
    );
    expect(await answer(await post(path, await userToken('bob'), { action: 'decline' }))).toMatchObject({
      status: 404,
      body: { error: { code: 'not_found' } },
    });
    expect(await answer(await post(`${inputs}/no-such-request`, ann, { action: 'decline' }))).toMatchObject({
      status: 404,
      body: { error: { code: 'input_not_found' } },
    });
    expect((await post(`${inputs}/bad%00id`, ann, { action: 'decline' })).status).toBe(400);
    const auth = createJwtAuth({ secret });
    const other = await assistant.start({ input: 'Other', userId: 'ann' });
    const otherToken = await auth.issueRunToken({ userId: 'ann', runId: other.id });
    expect((await post(path, otherToken, { action: 'decline' })).status).toBe(404);

    // The run's own token may answer it (pattern B: the browser holds only that token).
    const runToken = await auth.issueRunToken({ userId: 'ann', runId: run.id });
    expect(
      await answer(await post(path, runToken, { action: 'accept', content: { name: 'Ann', integer: 7 } })),
    ).toEqual({ status: 200, body: { run_id: run.id, request_id: request.request_id, action: 'accept' } });
    expect(await answer(await post(path, ann, { action: 'cancel' }))).toMatchObject({
      status: 409,
      body: { error: { code: 'input_conflict' } },
    });
    const rest = await readSse(
      await fetch(`${url}/api/v1/runs/${run.id}/events?last_seq=${request.seq}`, {
        headers: { authorization: `Bearer ${ann}` },
      }),
      (item) => item.data.type === 'final',
    );
    const result = rest.find((item) => item.data.type === 'tool_result')?.data;
    expect(String((result as { result: unknown }).result)).toMatch(/"name": "Ann"[\s\S]*"integer": 7/);
  });

  it('takes an input frame on the run’s WebSocket: a bad one gets an error frame, the socket stays usable', async () => {
    const { url, assistant } = await elicitingServer();
    const run = await assistant.start({ input: 'Ask me', userId: 'ann' });
    const socket = open(url, { run_id: run.id, token: await userToken('ann') });
    const frames = await socket.until((frame) => frame.type === 'input_required');
    const requestId = frames.find((frame) => frame.type === 'input_required')?.request_id as string;
    socket.ws.send(JSON.stringify({ type: 'input', request_id: requestId, action: 'maybe' }));
    socket.ws.send(JSON.stringify({ type: 'input', action: 'decline' }));
    socket.ws.send(
      JSON.stringify({ type: 'input', request_id: requestId, action: 'accept', content: { integer: 0 } }),
    );
    await socket.until(() => socket.frames.filter((frame) => frame.type === 'error').length === 3);
    expect(socket.frames.filter((frame) => frame.type === 'error').map((frame) => frame.code)).toEqual([
      'invalid_frame',
      'invalid_frame',
      'invalid_input',
    ]);
    socket.ws.send(JSON.stringify({ type: 'input', request_id: requestId, action: 'decline' }));
    await socket.until((frame) => frame.type === 'final');
    expect(socket.frames.find((frame) => frame.type === 'input_resolved')).toMatchObject({
      request_id: requestId,
      action: 'decline',
    });
    expect(String(socket.frames.find((frame) => frame.type === 'tool_result')?.result)).toContain(
      'User declined',
    );
  });

  it('createStewardClient answers with respondToInput and reports a misfit as a typed error', async () => {
    const { url } = await elicitingServer();
    const client = createStewardClient({ url, token: await userToken('ann') });
    const { runId } = await client.respond('Ask me');
    const events: StewardEvent[] = [];
    for await (const event of client.stream(runId)) {
      events.push(event);
      if (event.type !== 'input_required') continue;
      const misfit = await client
        .respondToInput(runId, event.request_id, { action: 'accept', content: { name: 7 } as never })
        .catch((error: unknown) => error);
      expect(StewardClientError.isInstance(misfit)).toBe(true);
      expect(misfit).toMatchObject({ status: 400, code: 'invalid_input' });
      await expect(
        client.respondToInput(runId, event.request_id, { action: 'accept', content: { name: 'Ann' } }),
      ).resolves.toEqual({ run_id: runId, request_id: event.request_id, action: 'accept' });
    }
    expect(events.at(-1)).toMatchObject({ type: 'final', text: 'Thanks.' });
    expect(String(events.find((event) => event.type === 'tool_result')?.result)).toContain('"name": "Ann"');
  });
});
