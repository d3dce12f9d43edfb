import type { StewardEvent } from '@steward/core';
import { startFaultProxy } from '@steward/testing/fault-proxy';
import { describe, expect, it } from 'vitest';
import { createStewardClient, StewardClientError } from './client.ts';
import { mailTool, testServers, userToken } from './test-helpers.ts';

const { server, cleanups } = testServers();

describe('createStewardClient (Node, global fetch and WebSocket)', () => {
  it('starts a run, streams it to final, and reads the history', async () => {
    const { url } = await server([{ text: 'Hello from Steward', delayMs: 5 }]);
    const client = createStewardClient({ url, getToken: () => userToken('ann') });
    const { runId, sessionId } = await client.respond('Hi', { maxOutputTokens: 100 });
    const events: StewardEvent[] = [];
    for await (const event of client.stream(runId)) events.push(event);
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
    expect(events.at(-1)).toMatchObject({ type: 'final', text: 'Hello from Steward' });
    const history = await client.history(sessionId);
    expect(history.map((message) => message.role)).toEqual(['user', 'assistant']);
    expect(await client.getRun(runId)).toMatchObject({ run_id: runId, status: 'completed' });
  });

  it('reconnects after the connection drops and never yields an event twice', async () => {
    const { server: http } = await server([{ text: 'a b c d e f g h i j k l m n o p', delayMs: 20 }]);
    const port = (http.address() as { port: number }).port;
    const proxy = await startFaultProxy(port);
    cleanups.push(() => proxy.close());
    const states: string[] = [];
    const client = createStewardClient({
      url: `http://127.0.0.1:${proxy.port}`,
      token: await userToken('ann'),
      reconnect: { minDelayMs: 10, maxDelayMs: 50 },
    });
    const { runId } = await client.respond('Count');
    const events: StewardEvent[] = [];
    let cuts = 0;
    for await (const event of client.stream(runId, { onConnection: (state) => states.push(state) })) {
      events.push(event);
      if (event.type === 'token' && cuts < 2 && events.length % 5 === 0) {
        cuts++;
        proxy.cut();
      }
    }
    expect(cuts).toBe(2);
    expect(states.filter((state) => state === 'reconnecting').length).toBeGreaterThanOrEqual(2);
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
    const text = events.flatMap((event) => (event.type === 'token' ? [event.text] : [])).join('');
    expect(text).toBe('a b c d e f g h i j k l m n o p');
  });

  it('approves a waiting call and stops runs through REST', async () => {
    const { tool, sent } = mailTool();
    const { url } = await server(
      [
        { toolCalls: [{ name: 'send_email', args: { to: 'c@d.e' }, callId: 'client-call' }] },
        { text: 'Sent.' },
        { text: 'a b c d e f g h i j', delayMs: 30 },
      ],
      { tools: [tool] },
    );
    const client = createStewardClient({ url, token: await userToken('ann') });
    const { runId } = await client.respond('Mail c');
    const events: StewardEvent[] = [];
    for await (const event of client.stream(runId)) {
      events.push(event);
      if (event.type === 'approval_required') await client.approve(runId, event.call_id);
    }
    expect(events.at(-1)).toMatchObject({ type: 'final', text: 'Sent.' });
    expect(sent).toEqual(['c@d.e']);
    await expect(client.approve(runId, 'client-call')).rejects.toMatchObject({
      status: 409,
      code: 'approval_conflict',
    });

    const second = await client.respond('Go');
    const stream = client.stream(second.runId);
    for await (const event of stream) if (event.type === 'token') await client.stop(second.runId);
    expect(stream.lastSeq).toBeGreaterThan(0);
    expect(await client.getRun(second.runId)).toMatchObject({ status: 'aborted' });
  });

  it('reports API errors as typed StewardClientErrors, and a stream of a run it cannot see as 404', async () => {
    const { url } = await server([{ text: 'mine' }]);
    const ann = createStewardClient({ url, token: await userToken('ann') });
    const bob = createStewardClient({
      url,
      token: await userToken('bob'),
      reconnect: { retries: 1, minDelayMs: 5 },
    });
    const error = await ann.respond('').catch((caught) => caught);
    expect(error).toBeInstanceOf(StewardClientError);
    expect(error).toMatchObject({ status: 400, code: 'invalid_request' });
    const { runId } = await ann.respond('Hi');
    const streamed = (async () => {
      for await (const _event of bob.stream(runId)) {
        // Never reached.
      }
    })();
    await expect(streamed).rejects.toMatchObject({ status: 404, code: 'not_found' });
    const offline = createStewardClient({ url: 'http://127.0.0.1:9', token: 'x' });
    await expect(offline.respond('Hi')).rejects.toMatchObject({ code: 'connection_lost' });
  });

  it('ends a stream and rejects REST calls with a typed error when getToken fails, and honours a signal', async () => {
    const { url, assistant } = await server([{ text: 'hello', delayMs: 5 }]);
    const run = await assistant.start({ input: 'Hi', userId: 'ann' });
    let fail = false;
    const client = createStewardClient({
      url,
      getToken: async () => {
        if (fail) throw new Error('session expired');
        return userToken('ann');
      },
    });
    fail = true;
    const error = await client.getRun(run.id).catch((caught) => caught);
    expect(StewardClientError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'unauthorized' });
    const streamed = (async () => {
      for await (const _event of client.stream(run.id)) {
        // Never reached.
      }
    })();
    await expect(streamed).rejects.toMatchObject({ code: 'unauthorized', message: /session expired/ });

    fail = false;
    const controller = new AbortController();
    controller.abort(new Error('unmounted'));
    await expect(client.history(run.sessionId, { signal: controller.signal })).rejects.toThrow('unmounted');
  });
});
