import { startFaultProxy } from '@steward/testing/fault-proxy';
import { act, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { answerOf, cuttingWebSocket, renderAssistant, testServers, userToken } from './test-helpers.ts';

const { server, cleanups } = testServers();

describe('useAssistant across dropped connections and unmounts', () => {
  it('resumes after the connection is cut mid-stream without showing a token twice', async () => {
    const text = 'a b c d e f g h i j k l m n o p q r s t';
    const { server: http } = await server([{ text, delayMs: 25 }]);
    const proxy = await startFaultProxy((http.address() as { port: number }).port);
    cleanups.push(() => proxy.close());
    const sockets: WebSocket[] = [];
    const { result, renders } = renderAssistant({
      url: proxy.url,
      token: await userToken('ann'),
      reconnect: { minDelayMs: 10, maxDelayMs: 50 },
      fetch,
      // The first socket is cut after 4 frames, the second after 5 more.
      WebSocket: cuttingWebSocket(() => proxy.cut(), [4, 5], sockets),
    });

    await act(() => result.current.send('Letters'));
    await waitFor(() => expect(result.current.status).toBe('idle'));

    expect(sockets.length).toBeGreaterThanOrEqual(3);
    expect(renders.map((render) => render.status)).toContain('reconnecting');
    expect(answerOf(result.current.messages)).toBe(text);
    expect(result.current.messages).toHaveLength(2);
    for (const render of renders) expect(text.startsWith(answerOf(render.messages))).toBe(true);
  });

  it('reconnect() resumes from the last seq after the client gave up', async () => {
    const text = 'one two three four five six seven eight nine ten';
    const { server: http } = await server([{ text, delayMs: 40 }]);
    const proxy = await startFaultProxy((http.address() as { port: number }).port);
    cleanups.push(() => proxy.close());
    const unreachable = () => {
      proxy.block(true);
      proxy.cut();
    };
    const { result } = renderAssistant({
      url: proxy.url,
      token: await userToken('ann'),
      reconnect: { retries: 1, minDelayMs: 5, maxDelayMs: 10 },
      fetch,
      WebSocket: cuttingWebSocket(unreachable, [4]),
    });

    await act(() => result.current.send('Count'));
    await waitFor(() => expect(result.current.status).toBe('error'));
    expect(result.current.error).toMatchObject({ code: 'connection_lost' });
    const before = answerOf(result.current.messages);

    proxy.block(false);
    act(() => result.current.reconnect());
    await waitFor(() => expect(result.current.status).toBe('idle'));
    expect(answerOf(result.current.messages)).toBe(text);
    expect(text.startsWith(before)).toBe(true);
    expect(result.current.error).toBeUndefined();
  });

  it('closes its socket on unmount, renders nothing after, and the run still finishes', async () => {
    const { url, assistant } = await server([{ text: 'a b c d e f g h i j', delayMs: 30 }]);
    const sockets: WebSocket[] = [];
    class TrackedWebSocket extends WebSocket {
      constructor(address: string | URL, protocols?: string | string[]) {
        super(address, protocols);
        sockets.push(this);
      }
    }
    const { result, renders, unmount } = renderAssistant({
      url,
      token: await userToken('ann'),
      fetch,
      WebSocket: TrackedWebSocket,
    });

    await act(() => result.current.send('Go'));
    await waitFor(() => expect(answerOf(result.current.messages).length).toBeGreaterThan(2));
    const runId = result.current.messages[0]?.runId as string;
    expect(sockets.filter((socket) => socket.readyState === WebSocket.OPEN)).toHaveLength(1);
    unmount();
    const rendersAtUnmount = renders.length;

    await waitFor(() => expect(sockets.every((socket) => socket.readyState === WebSocket.CLOSED)).toBe(true));
    await waitFor(async () =>
      expect(await assistant.getRun(runId, { userId: 'ann' })).toMatchObject({ status: 'completed' }),
    );
    expect(renders).toHaveLength(rendersAtUnmount);
  });
});
