import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { StrictMode } from 'react';
import { renderToString } from 'react-dom/server';
import { expect, it } from 'vitest';
import type { ToolCard } from './chat-message.ts';
import { mailTool, testServers, userToken } from './test-helpers.ts';
import { useAssistant } from './use-assistant.ts';

const { server: startServer } = testServers();

function ToolCardView({ card, onApprove }: { card: ToolCard; onApprove: (callId: string) => void }) {
  return (
    <section aria-label={`${card.toolSlug} call`}>
      <p>
        {card.toolSlug} {JSON.stringify(card.args)}: <output>{card.status}</output>
      </p>
      {card.status === 'awaiting_approval' && (
        <button type="button" onClick={() => onApprove(card.callId)}>
          Approve {card.toolSlug}
        </button>
      )}
    </section>
  );
}

function Chat({ url, token }: { url: string; token: string }) {
  const { messages, status, send, approve } = useAssistant({ url, token, fetch, WebSocket });
  return (
    <main>
      {messages.map((message) =>
        message.role === 'tool' ? (
          <ToolCardView key={message.id} card={message} onApprove={(callId) => void approve(callId)} />
        ) : (
          <p key={message.id}>
            {message.role}: {message.text}
          </p>
        ),
      )}
      <p>status: {status}</p>
      <button type="button" onClick={() => void send('Mail c')}>
        Send
      </button>
    </main>
  );
}

it('renders a tool card with an Approve button; clicking it runs the tool and shows the result', async () => {
  const { tool, sent } = mailTool();
  const server = await startServer(
    [{ toolCalls: [{ name: 'send_email', args: { to: 'c@d.e' } }] }, { text: 'Sent it.' }],
    { tools: [tool] },
  );
  render(
    <StrictMode>
      <Chat url={server.url} token={await userToken('ann')} />
    </StrictMode>,
  );

  fireEvent.click(screen.getByRole('button', { name: 'Send' }));
  const approveButton = await screen.findByRole('button', { name: 'Approve send_email' });
  const card = screen.getByRole('region', { name: 'send_email call' });
  expect(card.textContent).toContain('{"to":"c@d.e"}: awaiting_approval');
  expect(screen.getByText('status: awaiting_approval')).toBeTruthy();
  expect(sent).toEqual([]);

  fireEvent.click(approveButton);
  await screen.findByText('assistant: Sent it.');
  await waitFor(() => expect(screen.getByText('status: idle')).toBeTruthy());
  expect(card.textContent).toContain('succeeded');
  expect(screen.queryByRole('button', { name: 'Approve send_email' })).toBeNull();
  expect(sent).toEqual(['c@d.e']);
});

function ServerChat({ fetch }: { fetch: typeof globalThis.fetch }) {
  const { messages, status } = useAssistant({ url: 'http://127.0.0.1:9', token: 't', fetch });
  return (
    <p>
      {messages.length} messages, {status}
    </p>
  );
}

it('renders the empty initial state on the server and opens nothing', () => {
  let requests = 0;
  const counting = (() => {
    requests++;
    return Promise.reject(new Error('no requests on the server'));
  }) as typeof fetch;
  expect(renderToString(<ServerChat fetch={counting} />)).toContain('0<!-- --> messages, <!-- -->idle');
  expect(requests).toBe(0);
});
