// @vitest-environment node
import type { EventBase, StewardEvent } from '@steward/core';
import { StewardClientError } from '@steward/transport-ws/client';
import { describe, expect, it } from 'vitest';
import type { ToolCard } from './chat-message.ts';
import { type ChatAction, type ChatState, chatReducer, initialChatState } from './chat-reducer.ts';
import { pendingInputsOf } from './input-requests.ts';

type EventInput = StewardEvent extends infer E
  ? E extends StewardEvent
    ? Omit<E, keyof EventBase>
    : never
  : never;

function runEvents(runId: string) {
  let seq = 0;
  return (event: EventInput): ChatAction => ({
    type: 'event_received',
    event: { ...event, run_id: runId, seq: ++seq, timestamp: new Date(0).toISOString() } as StewardEvent,
  });
}

const fold = (actions: readonly ChatAction[], state: ChatState = initialChatState()) =>
  actions.reduce(chatReducer, state);

const usage = { input_tokens: 1, output_tokens: 1, total_tokens: 2 };
const requestedSchema = {
  type: 'object' as const,
  properties: { floor: { type: 'integer' as const, minimum: 1, maximum: 9 } },
  required: ['floor'],
};

function asking(runId: string) {
  const event = runEvents(runId);
  const actions: ChatAction[] = [
    { type: 'input_submitted', messageId: 'local:1', text: 'Book' },
    { type: 'run_accepted', messageId: 'local:1', runId, sessionId: 's1' },
    event({
      type: 'tool_request',
      call_id: 'c1',
      tool_slug: 'desk__book',
      args: {},
      require_confirmation: false,
      tool_title: 'Book a desk',
      annotations: { readOnlyHint: false },
    }),
    event({
      type: 'input_required',
      request_id: 'q1',
      call_id: 'c1',
      tool_slug: 'desk__book',
      server: 'desk',
      message: 'Which floor?',
      mode: 'form',
      requested_schema: requestedSchema,
      expires_at: '2030-01-01T00:10:00.000Z',
    }),
  ];
  return { event, actions };
}

const cardOf = (state: ChatState) => state.messages.find((message) => message.role === 'tool') as ToolCard;

describe('requests for input in the chat state', () => {
  it('shows a request as a pending part of its tool card, awaiting input, until the run resolves it', () => {
    const { event, actions } = asking('r1');
    let state = fold(actions);
    expect(state.status).toBe('awaiting_input');
    expect(cardOf(state)).toMatchObject({ title: 'Book a desk', annotations: { readOnlyHint: false } });
    expect(pendingInputsOf(state.messages)).toEqual([
      {
        runId: 'r1',
        requestId: 'q1',
        callId: 'c1',
        toolSlug: 'desk__book',
        server: 'desk',
        message: 'Which floor?',
        mode: 'form',
        requestedSchema,
        url: undefined,
        expiresAt: '2030-01-01T00:10:00.000Z',
        status: 'pending',
        action: undefined,
        error: undefined,
      },
    ]);
    // A refused answer stays pending, with the reason for the form.
    const refusal = new StewardClientError(400, 'invalid_input', 'floor: too big', { issues: [] });
    state = fold([{ type: 'input_refused', requestId: 'q1', error: refusal }], state);
    expect(pendingInputsOf(state.messages)[0]?.error).toBe(refusal);
    expect(state.status).toBe('awaiting_input');
    // The REST answer shows it resolved at once; the run's event then changes nothing.
    state = fold(
      [{ type: 'input_answered', answer: { run_id: 'r1', request_id: 'q1', action: 'accept' } }],
      state,
    );
    expect(state.status).toBe('streaming');
    const resolved = cardOf(state).inputRequests;
    state = fold(
      [event({ type: 'input_resolved', request_id: 'q1', call_id: 'c1', action: 'cancel' })],
      state,
    );
    expect(cardOf(state).inputRequests).toBe(resolved);
    expect(resolved).toEqual([
      expect.objectContaining({ status: 'resolved', action: 'accept', error: undefined }),
    ]);
    state = fold(
      [
        event({
          type: 'tool_result',
          call_id: 'c1',
          tool_slug: 'desk__book',
          result: 'Booked',
          resource_links: [{ uri: 'https://desk.example/1', name: 'Desk 1', mime_type: 'text/html' }],
          duration_ms: 5,
        }),
      ],
      state,
    );
    expect(cardOf(state)).toMatchObject({
      status: 'succeeded',
      resourceLinks: [{ uri: 'https://desk.example/1', name: 'Desk 1', mimeType: 'text/html' }],
    });
  });

  it('takes the run’s input_resolved as the answer when it comes first (another tab answered, or a timeout)', () => {
    const { event, actions } = asking('r1');
    const state = fold([
      ...actions,
      event({ type: 'input_resolved', request_id: 'q1', call_id: 'c1', action: 'cancel' }),
    ]);
    expect(state.status).toBe('streaming');
    expect(cardOf(state).inputRequests).toEqual([
      expect.objectContaining({ status: 'resolved', action: 'cancel' }),
    ]);
  });

  it('cancels what is still asked when the run ends', () => {
    const { event, actions } = asking('r1');
    const state = fold([
      ...actions,
      event({ type: 'final', text: '', usage, stop_reason: 'aborted', partial: true }),
    ]);
    expect(state.status).toBe('idle');
    expect(pendingInputsOf(state.messages)).toEqual([]);
    expect(cardOf(state).inputRequests).toEqual([
      expect.objectContaining({ status: 'resolved', action: 'cancel' }),
    ]);
  });
});
