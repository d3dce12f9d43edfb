import { defineTool } from '@steward/core';
import { createJwtAuth } from '@steward/transport-ws';
import {
  createStewardClient,
  type StewardClient,
  type StewardClientError,
} from '@steward/transport-ws/client';
import { act, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ToolCard } from './chat-message.ts';
import {
  answerOf,
  cardOf,
  mailTool,
  network,
  renderAssistant,
  secret,
  testServers,
  userToken,
} from './test-helpers.ts';

const { server } = testServers();

describe('useAssistant against a real Steward server', () => {
  it('renders streamed text incrementally and ends idle with exactly the model text', async () => {
    const text = 'The quick brown fox jumps over the lazy dog';
    const { url } = await server([{ text, delayMs: 15 }]);
    const { result, renders } = renderAssistant({ url, token: await userToken('ann'), ...network });

    // A synchronous act renders `submitting` at once; React 18 batches an awaited act's updates
    // until the request answered, so the state would never be rendered there.
    let sent: Promise<void> = Promise.resolve();
    act(() => {
      sent = result.current.send('Tell me something');
    });
    await act(() => sent);
    await waitFor(() => expect(result.current.status).toBe('idle'));

    const seen = renders.map((render) => answerOf(render.messages));
    const intermediate = seen.filter((answer) => answer !== '' && answer !== text);
    expect(intermediate.length).toBeGreaterThan(0);
    for (const answer of intermediate) expect(text.startsWith(answer)).toBe(true);
    expect(renders.map((render) => render.status)).toEqual(
      expect.arrayContaining(['submitting', 'streaming']),
    );
    expect(result.current.messages).toEqual([
      { role: 'user', id: expect.any(String), text: 'Tell me something', runId: expect.any(String) },
      expect.objectContaining({ role: 'assistant', text, streaming: false, partial: false }),
    ]);
    expect(result.current.sessionId).toEqual(expect.any(String));
    expect(result.current.error).toBeUndefined();
  });

  it('moves a tool card from request through approval to its result; the tool runs once, after approve', async () => {
    const { tool, sent } = mailTool();
    const { url } = await server(
      [
        { toolCalls: [{ name: 'send_email', args: { to: 'c@d.e' }, callId: 'call-1' }] },
        { text: 'Sent it.' },
      ],
      { tools: [tool] },
    );
    const { result, renders } = renderAssistant({ url, token: await userToken('ann'), ...network });

    await act(() => result.current.send('Mail c'));
    await waitFor(() => expect(result.current.status).toBe('awaiting_approval'));
    expect(result.current.pendingApprovals).toEqual([
      expect.objectContaining({
        callId: 'call-1',
        toolSlug: 'send_email',
        args: { to: 'c@d.e' },
        status: 'awaiting_approval',
        approval: expect.objectContaining({ expiresAt: expect.any(String), argsHash: expect.any(String) }),
      }),
    ]);
    expect(sent).toEqual([]);

    await act(() => result.current.approve('call-1'));
    await waitFor(() => expect(result.current.status).toBe('idle'));
    expect(sent).toEqual(['c@d.e']);
    expect(result.current.pendingApprovals).toEqual([]);
    expect(result.current.messages.map((message) => message.role)).toEqual(['user', 'tool', 'assistant']);
    expect(cardOf(result.current.messages)).toMatchObject({
      status: 'succeeded',
      result: { sent: true, to: 'c@d.e' },
      approval: { decidedBy: 'ann' },
    });
    expect(answerOf(result.current.messages)).toBe('Sent it.');
    const statuses = renders
      .map((render) => cardOf(render.messages)?.status)
      .filter((status) => status !== undefined);
    const order = ['awaiting_approval', 'approved', 'succeeded'].map((status) =>
      statuses.indexOf(status as ToolCard['status']),
    );
    expect(order.every((index) => index !== -1)).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it('denies a call: the tool never runs and the card says so', async () => {
    const { tool, sent } = mailTool();
    const { url } = await server(
      [
        { toolCalls: [{ name: 'send_email', args: { to: 'x@y.z' }, callId: 'call-1' }] },
        { text: 'Not sent.' },
      ],
      { tools: [tool] },
    );
    const { result } = renderAssistant({ url, token: await userToken('ann'), ...network });

    await act(() => result.current.send('Mail x'));
    await waitFor(() => expect(result.current.pendingApprovals).toHaveLength(1));
    await act(() => result.current.deny('call-1', 'wrong person'));
    await waitFor(() => expect(result.current.status).toBe('idle'));

    expect(sent).toEqual([]);
    expect(cardOf(result.current.messages)).toMatchObject({
      status: 'denied',
      error: { code: 'tool_denied' },
      approval: { decisionReason: 'wrong person' },
    });
    expect(answerOf(result.current.messages)).toBe('Not sent.');
  });

  it('stop keeps the partial answer and leaves the hook idle, not failed', async () => {
    const text = 'one two three four five six seven eight nine ten';
    // After its text the model goes silent: the run ends only when stopped.
    const { url, assistant } = await server([{ text, delayMs: 20, stallAfterText: true }]);
    const { result } = renderAssistant({ url, token: await userToken('ann'), ...network });

    await act(() => result.current.send('Count'));
    await waitFor(() => expect(answerOf(result.current.messages).split(' ').length).toBeGreaterThan(3));
    await act(() => result.current.stop());
    await waitFor(() => expect(result.current.status).toBe('idle'));

    const answer = result.current.messages.at(-1);
    expect(answer).toMatchObject({ role: 'assistant', partial: true, streaming: false });
    const partial = answerOf(result.current.messages);
    expect(partial.length).toBeGreaterThan(0);
    expect(text.startsWith(partial)).toBe(true);
    expect(result.current.error).toBeUndefined();
    const runId = answer?.runId as string;
    expect(await assistant.getRun(runId, { userId: 'ann' })).toMatchObject({
      status: 'aborted',
      partial: true,
    });
  });

  it('stop() while the run is being submitted stops it as soon as it exists', async () => {
    const { url, assistant } = await server([{ text: 'never finishes', delayMs: 20, stallAfterText: true }]);
    const { result } = renderAssistant({ url, token: await userToken('ann'), ...network });

    await act(async () => {
      const sent = result.current.send('Go');
      await result.current.stop(); // Same tick: respond() has not answered yet.
      await sent;
    });
    await waitFor(() => expect(result.current.status).toBe('idle'));
    const runId = result.current.messages[0]?.runId as string;
    expect(await assistant.getRun(runId, { userId: 'ann' })).toMatchObject({ status: 'aborted' });
  });

  it('loads the history of an existing session on mount, once under StrictMode, and continues it', async () => {
    const lookup = defineTool({
      name: 'lookup',
      description: 'Looks a word up',
      input: z.object({ word: z.string() }),
      execute: ({ word }) => ({ word, meaning: 'a greeting' }),
    });
    const { url } = await server(
      [
        { toolCalls: [{ name: 'lookup', args: { word: 'hello' }, callId: 'call-1' }] },
        { text: 'It is a greeting.' },
        { text: 'You are welcome.' },
      ],
      { tools: [lookup] },
    );
    const token = await userToken('ann');
    const client = createStewardClient({ url, token });
    const first = await client.respond('What does hello mean?');
    for await (const _event of client.stream(first.runId)) {
      // Run it to the end.
    }

    let historyRequests = 0;
    const countingFetch: typeof fetch = (input, init) => {
      if (String(input).includes('/api/v1/history')) historyRequests++;
      return fetch(input, init);
    };
    const { result } = renderAssistant({
      url,
      token,
      sessionId: first.sessionId,
      fetch: countingFetch,
      WebSocket,
    });

    await waitFor(() => expect(result.current.messages).toHaveLength(3));
    expect(historyRequests).toBe(1);
    expect(result.current.messages).toEqual([
      { role: 'user', id: expect.any(String), text: 'What does hello mean?', runId: first.runId },
      expect.objectContaining({
        role: 'tool',
        callId: 'call-1',
        toolSlug: 'lookup',
        args: { word: 'hello' },
        status: 'succeeded',
        result: { word: 'hello', meaning: 'a greeting' },
      }),
      expect.objectContaining({ role: 'assistant', text: 'It is a greeting.', streaming: false }),
    ]);
    expect(result.current.status).toBe('idle');

    await act(() => result.current.send('Thanks'));
    await waitFor(() => expect(result.current.status).toBe('idle'));
    expect(result.current.sessionId).toBe(first.sessionId);
    expect(answerOf(result.current.messages)).toBe('It is a greeting.You are welcome.');
    expect(await client.history(first.sessionId)).toHaveLength(6);
  });

  it('pattern B: the host starts the run, the browser streams and approves it with a run token', async () => {
    const { tool, sent } = mailTool();
    const { url } = await server(
      [
        { toolCalls: [{ name: 'send_email', args: { to: 'c@d.e' }, callId: 'call-1' }] },
        { text: 'Sent it.' },
      ],
      { tools: [tool] },
    );
    // The host: authenticates the browser its own way, starts the run with the user's identity,
    // and hands back a token good for that one run.
    const hostClient = createStewardClient({ url, token: await userToken('ann') });
    const auth = createJwtAuth({ secret });
    const host = async (input: string, sessionId: string | undefined) => {
      const run = await hostClient.respond(input, sessionId === undefined ? {} : { sessionId });
      return { ...run, token: await auth.issueRunToken({ userId: 'ann', runId: run.runId }) };
    };

    // The browser: respond goes through the host; streaming and approvals go to Steward directly.
    let runToken = '';
    const direct = createStewardClient({ url, getToken: () => runToken, ...network });
    const client: StewardClient = {
      ...direct,
      async respond(input, options) {
        const { token, ...run } = await host(input, options?.sessionId);
        runToken = token;
        return run;
      },
    };
    const { result } = renderAssistant({ client });

    await act(() => result.current.send('Mail c'));
    await waitFor(() => expect(result.current.status).toBe('awaiting_approval'));
    await act(() => result.current.approve('call-1'));
    await waitFor(() => expect(result.current.status).toBe('idle'));
    expect(sent).toEqual(['c@d.e']);
    expect(answerOf(result.current.messages)).toBe('Sent it.');
    expect(result.current.error).toBeUndefined();
    // The run token is good for its run only: it cannot start another.
    await expect(direct.respond('Another')).rejects.toMatchObject({ status: 403 });
  });

  it('surfaces a 401 for a bad token in error', async () => {
    const { url } = await server([{ text: 'never' }]);
    const { result } = renderAssistant({ url, token: 'not-a-jwt', ...network });

    await act(() => result.current.send('Hi'));
    expect(result.current.status).toBe('error');
    expect(result.current.error).toMatchObject({
      name: 'StewardClientError',
      status: 401,
      code: 'unauthorized',
    });

    const withHistory = renderAssistant({
      url,
      getToken: () => 'still-not-a-jwt',
      sessionId: 's-1',
      ...network,
    });
    await waitFor(() => expect(withHistory.result.current.status).toBe('error'));
    expect((withHistory.result.current.error as StewardClientError).status).toBe(401);
  });
});
