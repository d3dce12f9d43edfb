import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createMcpRegistry } from '@steward/mcp';
import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { StrictMode, useState } from 'react';
import { describe, expect, it } from 'vitest';
import type { ToolInputRequest } from './chat-message.ts';
import { cardOf, network, renderAssistant, testServers, userToken } from './test-helpers.ts';
import { useAssistant } from './use-assistant.ts';

const { server, cleanups } = testServers();
const require = createRequire(import.meta.url);
const everythingEntry = join(
  dirname(require.resolve('@modelcontextprotocol/server-everything/package.json')),
  'dist/index.js',
);

/** A Steward server whose model calls server-everything's eliciting tool (over stdio) once. */
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
  return server(
    [{ toolCalls: [{ name: 'everything__trigger-elicitation-request', args: {} }] }, { text: 'Thanks.' }],
    { tools: [registry] },
  );
}

describe('useAssistant and a tool that asks the user (server-everything over stdio)', () => {
  it('exposes the request, keeps it pending with the reason when an answer does not fit, and resolves it with the answer', async () => {
    const { url } = await elicitingServer();
    const { result } = renderAssistant({ url, token: await userToken('ann'), ...network });
    await act(() => result.current.send('Ask me'));
    await waitFor(() => expect(result.current.status).toBe('awaiting_input'));
    const [request] = result.current.pendingInputs as [ToolInputRequest];
    expect(request).toMatchObject({
      server: 'everything',
      toolSlug: 'everything__trigger-elicitation-request',
      mode: 'form',
      status: 'pending',
      requestedSchema: expect.objectContaining({ required: ['name'] }),
    });
    expect(cardOf(result.current.messages)).toMatchObject({
      title: 'Trigger Elicitation Request Tool',
      inputRequests: [request],
    });

    await act(() =>
      result.current.respondToInput(request.requestId, { action: 'accept', content: { integer: 0 } }),
    );
    expect(result.current.status).toBe('awaiting_input');
    expect(result.current.pendingInputs[0]?.error).toMatchObject({ status: 400, code: 'invalid_input' });

    await act(() =>
      result.current.respondToInput(request.requestId, {
        action: 'accept',
        content: { name: 'Ann', integer: 9 },
      }),
    );
    await waitFor(() => expect(result.current.status).toBe('idle'));
    expect(result.current.pendingInputs).toEqual([]);
    const card = cardOf(result.current.messages);
    expect(card.inputRequests).toEqual([expect.objectContaining({ status: 'resolved', action: 'accept' })]);
    expect(String(card.result)).toMatch(/"name": "Ann"[\s\S]*"integer": 9/);
  });

  it('renders a form for the request: what the user types reaches the tool', async () => {
    const { url } = await elicitingServer();
    render(
      <StrictMode>
        <Chat url={url} token={await userToken('ann')} />
      </StrictMode>,
    );
    fireEvent.click(screen.getByRole('button', { name: 'Send' }));
    const form = await screen.findByRole('form', { name: 'Please provide inputs for the following fields:' });
    expect(screen.getByText('status: awaiting_input')).toBeTruthy();
    // `input`, not `change`: RTL builds a change from the global Event, which is Node's here.
    fireEvent.input(screen.getByLabelText('Name'), { target: { value: 'Ann Example' } });
    fireEvent.click(screen.getByRole('button', { name: 'Submit' }));
    await screen.findByText('status: idle');
    expect(form.isConnected).toBe(false);
    expect(screen.getByText(/Name: Ann Example/)).toBeTruthy();
  });
});

type Answer = ReturnType<typeof useAssistant>['respondToInput'];

/** A form for the one field this test fills in; a real app renders every field of `requestedSchema`. */
function InputForm({ request, onAnswer }: { request: ToolInputRequest; onAnswer: Answer }) {
  const [name, setName] = useState('');
  return (
    <form
      aria-label={request.message}
      onSubmit={(event) => {
        event.preventDefault();
        void onAnswer(request.requestId, { action: 'accept', content: { name } });
      }}
    >
      <label>
        Name <input value={name} onChange={(event) => setName(event.target.value)} />
      </label>
      <button type="submit">Submit</button>
      <button type="button" onClick={() => void onAnswer(request.requestId, { action: 'decline' })}>
        Decline
      </button>
    </form>
  );
}

function Chat({ url, token }: { url: string; token: string }) {
  const { messages, status, send, pendingInputs, respondToInput } = useAssistant({ url, token, ...network });
  return (
    <main>
      {pendingInputs.map((request) => (
        <InputForm key={request.requestId} request={request} onAnswer={respondToInput} />
      ))}
      {messages.map((message) =>
        message.role === 'tool' ? <output key={message.id}>{String(message.result ?? '')}</output> : null,
      )}
      <p>status: {status}</p>
      <button type="button" onClick={() => void send('Ask me')}>
        Send
      </button>
    </main>
  );
}
