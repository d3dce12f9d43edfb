import { Assistant, createInMemoryStorage, type StewardEvent } from '@steward/core';
import { createScriptedModel } from '@steward/core/testing';
import { createRedisRunStore, withRedisRunEvents } from '@steward/storage-redis';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { createJwtAuth } from './auth.ts';
import { startStewardServer } from './server.ts';
import { mailTool, open, refusal, secret, testServers, userToken } from './test-helpers.ts';
import { closeCodes } from './websocket.ts';

const { server, cleanups } = testServers();

const isFinal = (frame: Record<string, unknown>) => frame.type === 'final';

describe('WS /ws', () => {
  it('streams the run’s events as core emits them, then closes with 1000', async () => {
    const { url, assistant } = await server([{ text: 'Hello from the socket', delayMs: 5 }]);
    const run = await assistant.start({ input: 'Hi', userId: 'ann', sessionId: 'ws-s1' });
    const socket = open(
      url,
      { run_id: run.id, session_id: 'ws-s1' },
      { authorization: `Bearer ${await userToken('ann')}` },
    );
    expect(await socket.closed).toMatchObject({ code: closeCodes.runEnded });
    expect(socket.frames).toEqual(
      JSON.parse(JSON.stringify(await assistant.getRunEvents(run.id, { userId: 'ann' }))),
    );
    expect(
      socket.frames
        .filter((frame) => frame.type === 'token')
        .map((frame) => frame.text)
        .join(''),
    ).toBe('Hello from the socket');
  });

  it('resumes after last_seq with every later event exactly once', async () => {
    const { url, assistant } = await server([{ text: 'a b c d e f g h i j', delayMs: 15 }]);
    const token = await userToken('ann');
    const run = await assistant.start({ input: 'Hi', userId: 'ann' });
    const first = open(url, { run_id: run.id, token });
    await first.until((frame) => frame.seq === 4);
    first.ws.terminate(); // A dropped connection, mid-run.
    const lastSeq = Math.max(...first.frames.map((frame) => frame.seq as number));
    const second = open(url, { run_id: run.id, token, last_seq: String(lastSeq) });
    await second.closed;
    const seqs = [...first.frames, ...second.frames].map((frame) => frame.seq);
    expect(seqs).toEqual(seqs.map((_, index) => index + 1));
    expect(second.frames.at(-1)).toMatchObject({ type: 'final', stop_reason: 'stop' });
  });

  it('refuses the upgrade: 401 without a valid token, 404 for another user’s run or the wrong session, 400 without run_id', async () => {
    const { url, assistant } = await server([{ text: 'secret stuff' }, { text: 'other' }]);
    const run = await assistant.start({ input: 'Hi', userId: 'ann', sessionId: 'ann-s' });
    const other = await assistant.start({ input: 'Hi', userId: 'ann', sessionId: 'ann-t' });
    expect(await refusal(url, { run_id: run.id })).toBe(401);
    expect(await refusal(url, { run_id: run.id, token: 'garbage' })).toBe(401);
    expect(await refusal(url, { run_id: run.id, token: await userToken('bob') })).toBe(404);
    expect(await refusal(url, { run_id: run.id, session_id: 'ann-t', token: await userToken('ann') })).toBe(
      404,
    );
    expect(await refusal(url, { token: await userToken('ann') })).toBe(400);
    expect(await refusal(url, { run_id: run.id, last_seq: '-1', token: await userToken('ann') })).toBe(400);
    // A run token opens its run only.
    const runToken = await createJwtAuth({ secret }).issueRunToken({ userId: 'ann', runId: run.id });
    expect(await refusal(url, { run_id: other.id, token: runToken })).toBe(404);
    expect(await refusal(url, { run_id: run.id, token: runToken })).toBe(101);
  });

  it('answers invalid frames with an error frame (no seq) and stays usable: approve, then the run goes on', async () => {
    const { tool, sent } = mailTool();
    const { url, assistant } = await server(
      [
        { toolCalls: [{ name: 'send_email', arguments: { to: 'x@y.z' }, callId: 'ws-call' }] },
        { text: 'Sent it.' },
      ],
      { tools: [tool] },
    );
    const run = await assistant.start({ input: 'Mail', userId: 'ann' });
    const socket = open(url, { run_id: run.id, token: await userToken('ann') });
    await socket.until((frame) => frame.type === 'approval_required');
    const invalid = [
      'not json',
      JSON.stringify({ type: 'launch' }),
      JSON.stringify({ type: 'approve' }),
      JSON.stringify([1]),
    ];
    for (const frame of invalid) socket.ws.send(frame);
    socket.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    socket.ws.send(JSON.stringify({ type: 'approve', call_id: 'unknown-call' }));
    await socket.until(
      () => socket.frames.filter((frame) => frame.type === 'error' && frame.seq === undefined).length === 6,
    );
    const errors = socket.frames.filter((frame) => frame.type === 'error');
    expect(errors.map((frame) => frame.code)).toEqual([
      ...Array(5).fill('invalid_frame'),
      'approval_not_found',
    ]);
    expect(errors.every((frame) => frame.seq === undefined && frame.run_id === run.id)).toBe(true);
    expect(sent).toEqual([]);

    socket.ws.send(JSON.stringify({ type: 'approve', call_id: 'ws-call' }));
    await socket.until(isFinal);
    expect(socket.frames.find((frame) => frame.type === 'approval_resolved')).toMatchObject({
      decision: 'approved',
    });
    expect(socket.frames.at(-1)).toMatchObject({ type: 'final', text: 'Sent it.' });
    expect(sent).toEqual(['x@y.z']);
  });

  it('stops the run on a stop frame; closing the socket alone never does', async () => {
    const { url, assistant } = await server([
      { text: 'a b c d e f g h i j k l', delayMs: 25 },
      // Streams, then waits: only the stop frame can end it, however late it lands.
      { text: 'm n', stallAfterText: true },
    ]);
    const token = await userToken('ann');
    const kept = await assistant.start({ input: 'Go', userId: 'ann' });
    const leaving = open(url, { run_id: kept.id, token });
    await leaving.until((frame) => frame.type === 'token');
    leaving.ws.close();
    expect((await kept.result).stopReason).toBe('stop');

    const stopped = await assistant.start({ input: 'Go', userId: 'ann' });
    const socket = open(url, { run_id: stopped.id, token });
    await socket.until((frame) => frame.type === 'token');
    socket.ws.send(JSON.stringify({ type: 'stop' }));
    await socket.until(isFinal);
    expect(socket.frames.at(-1)).toMatchObject({ type: 'final', stop_reason: 'aborted', partial: true });
  });

  it('drops a client that does not read with the resumable close code, and it resumes by seq', async () => {
    const words = Array.from({ length: 60_000 }, (_, index) => `w${index}`).join(' ');
    const { url, assistant } = await server([{ text: words }], {
      api: { websocket: { maxBufferedBytes: 64 * 1024, slowConsumerTimeoutMs: 300 } },
    });
    // The moment the server gives up on the socket, seen where it happens: its close(1013) call.
    let gaveUp: () => void = () => {};
    const serverGaveUp = new Promise<void>((resolve) => {
      gaveUp = resolve;
    });
    const close = WebSocket.prototype.close;
    const watch = vi.spyOn(WebSocket.prototype, 'close').mockImplementation(function (
      this: WebSocket,
      ...args
    ) {
      if (args[0] === closeCodes.slowConsumer) gaveUp();
      return close.apply(this, args);
    });
    cleanups.push(async () => watch.mockRestore());
    const token = await userToken('ann');
    const run = await assistant.start({ input: 'Flood', userId: 'ann' });
    const slow = open(url, { run_id: run.id, token });
    await new Promise<void>((resolve) => slow.ws.once('open', () => resolve()));
    const network = (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    network.pause(); // Stop reading from the network: the server's send buffer fills.
    // The run does not wait for its reader: it ends; and the server gives up on the socket
    // (slowConsumerTimeoutMs after its buffer filled). Only then does the client read again.
    await run.result;
    await serverGaveUp;
    network.resume();
    const { code } = await slow.closed;
    expect(code).toBe(closeCodes.slowConsumer);
    expect(slow.frames.at(-1)?.type).not.toBe('final');
    const lastSeq = Math.max(0, ...slow.frames.map((frame) => frame.seq as number));
    const resumed = open(url, { run_id: run.id, token, last_seq: String(lastSeq) });
    await resumed.closed;
    const seqs = [...slow.frames, ...resumed.frames].map((frame) => frame.seq);
    expect(seqs).toEqual(seqs.map((_, index) => index + 1));
    expect(resumed.frames.at(-1)?.type).toBe('final');
  });
});

describe('WS across instances', () => {
  const redisUrl = process.env.STEWARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const prefix = `steward-test-ws-${process.pid}-${Date.now().toString(36)}`;
  const stores = [
    createRedisRunStore({ url: redisUrl, prefix }),
    createRedisRunStore({ url: redisUrl, prefix }),
  ];
  afterAll(async () => {
    for (const store of stores) await store.close();
    const admin = new Redis(redisUrl, { protocol: 2 });
    const keys = await admin.keys(`${prefix}:*`);
    if (keys.length > 0) await admin.del(...keys);
    await admin.quit();
  });

  it('a client that reconnects to another instance with last_seq misses nothing and sees nothing twice', async () => {
    const durable = createInMemoryStorage();
    const [a, b] = (await Promise.all(
      stores.map(async (store, index) => {
        const assistant = new Assistant({
          model: createScriptedModel(
            index === 0 ? [{ text: 'one two three four five six seven eight', delayMs: 30 }] : [],
          ),
          storage: withRedisRunEvents(durable, store),
          coordinator: store,
        });
        const started = await startStewardServer({ assistant, auth: createJwtAuth({ secret }) });
        cleanups.push(() => started.close());
        return { assistant, url: started.url };
      }),
    )) as [{ assistant: Assistant; url: string }, { assistant: Assistant; url: string }];
    const token = await userToken('ann');
    const run = await a.assistant.start({ input: 'Count', userId: 'ann' });
    const onA = open(a.url, { run_id: run.id, token });
    await onA.until((frame) => frame.seq === 4);
    onA.ws.terminate();
    const lastSeq = Math.max(...onA.frames.map((frame) => frame.seq as number));
    const onB = open(b.url, { run_id: run.id, token, last_seq: String(lastSeq) });
    await onB.closed;
    const events = [...onA.frames, ...onB.frames] as unknown as StewardEvent[];
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
    expect(events.at(-1)).toMatchObject({ type: 'final', stop_reason: 'stop' });
  });
});
