import { createStewardClient } from '@steward/transport-ws/client';
import { render, screen, waitFor } from '@testing-library/react';
import { StrictMode } from 'react';
import { renderToString } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { HistoryMessage } from './history-messages.ts';
import { answerOf, network, renderAssistant, testServers, userToken } from './test-helpers.ts';
import { useAssistant } from './use-assistant.ts';

const { server } = testServers();

/** A fetch that counts the history requests it passes on. */
function countingFetch() {
  const counted = { history: 0 };
  const fetchImpl: typeof fetch = (input, init) => {
    if (String(input).includes('/api/v1/history')) counted.history++;
    return fetch(input, init);
  };
  return { counted, fetch: fetchImpl };
}

function Transcript(props: { url: string; token: string; sessionId: string; history: HistoryMessage[] }) {
  const { messages } = useAssistant({
    url: props.url,
    token: props.token,
    sessionId: props.sessionId,
    initialHistory: props.history,
    ...network,
  });
  return (
    <ol>
      {messages.map((message) => (
        <li key={message.id}>{message.role === 'tool' ? message.toolSlug : message.text}</li>
      ))}
    </ol>
  );
}

describe('useAssistant and a history rendered on the server', () => {
  it('shows initialHistory from the first render, server rendering included, and never requests it again', async () => {
    const { url } = await server([{ text: 'Hello there.' }, { text: 'Again.' }]);
    const token = await userToken('ann');
    const client = createStewardClient({ url, token });
    const first = await client.respond('Hi');
    for await (const _event of client.stream(first.runId)) {
      // Run it to the end.
    }
    const history = await client.history(first.sessionId);

    // What a server component renders: the conversation, not an empty list to be filled later.
    const html = renderToString(
      <Transcript url={url} token={token} sessionId={first.sessionId} history={history} />,
    );
    expect(html).toContain('Hi</li>');
    expect(html).toContain('Hello there.</li>');

    const { counted, fetch } = countingFetch();
    const { result, renders } = renderAssistant({
      url,
      token,
      sessionId: first.sessionId,
      initialHistory: history,
      fetch,
      WebSocket: network.WebSocket,
    });
    expect(renders[0]?.messages.map((message) => message.role)).toEqual(['user', 'assistant']);
    await waitFor(() => expect(result.current.status).toBe('idle'));
    expect(counted.history).toBe(0);
    // Hydration keeps the same items: the markup the server sent is adopted as it is.
    const container = document.createElement('div');
    container.innerHTML = html;
    document.body.append(container);
    render(
      <StrictMode>
        <Transcript url={url} token={token} sessionId={first.sessionId} history={history} />
      </StrictMode>,
      { container, hydrate: true },
    );
    expect(screen.getAllByRole('listitem').map((item) => item.textContent)).toEqual(['Hi', 'Hello there.']);
  });

  it('resumes a run still under way after a reload: every token once, none from before the reload repeated', async () => {
    const text = 'a b c d e f g h i j k l m n o p q r s t';
    const { url } = await server([{ text, delayMs: 30 }]);
    const token = await userToken('ann');
    // The page before the reload: it sent the message and saw part of the answer.
    const before = renderAssistant({ url, token, ...network });
    before.result.current.send('Letters');
    await waitFor(() => expect(answerOf(before.result.current.messages).length).toBeGreaterThan(4));
    const sessionId = before.result.current.sessionId as string;
    before.unmount();

    // The reloaded page: the history ends in the user's message; its run is still streaming.
    const history = await createStewardClient({ url, token }).history(sessionId);
    expect(history.at(-1)?.role).toBe('user');
    const after = renderAssistant({ url, token, sessionId, initialHistory: history, ...network });
    await waitFor(() => expect(after.result.current.status).toBe('streaming'));
    await waitFor(() => expect(after.result.current.status).toBe('idle'));

    expect(after.result.current.messages).toEqual([
      expect.objectContaining({ role: 'user', text: 'Letters' }),
      expect.objectContaining({ role: 'assistant', text, streaming: false, partial: false }),
    ]);
    for (const render of after.renders) expect(text.startsWith(answerOf(render.messages))).toBe(true);
  });

  it('leaves a finished history alone: no run is resumed, the hook stays idle', async () => {
    const { url } = await server([{ text: 'Done.' }]);
    const token = await userToken('ann');
    const client = createStewardClient({ url, token });
    const run = await client.respond('Hi');
    for await (const _event of client.stream(run.runId)) {
      // Run it to the end.
    }
    let runLookups = 0;
    const fetchImpl: typeof fetch = (input, init) => {
      if (String(input).includes('/api/v1/runs/')) runLookups++;
      return fetch(input, init);
    };
    const { result } = renderAssistant({
      url,
      token,
      sessionId: run.sessionId,
      fetch: fetchImpl,
      WebSocket: network.WebSocket,
    });
    await waitFor(() => expect(result.current.messages).toHaveLength(2));
    expect(result.current.status).toBe('idle');
    expect(runLookups).toBe(0);
  });
});
