// @vitest-environment node
import type { EventBase, StewardEvent } from '@steward/core';
import { describe, expect, it } from 'vitest';
import type { ToolCard } from './chat-message.ts';
import {
  type ChatAction,
  type ChatState,
  chatReducer,
  initialChatState,
  pendingAuthorizationsOf,
} from './chat-reducer.ts';

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

function waiting(runId: string) {
  const event = runEvents(runId);
  const actions: ChatAction[] = [
    { type: 'input_submitted', messageId: 'local:1', text: 'Inbox?' },
    { type: 'run_accepted', messageId: 'local:1', runId, sessionId: 's1' },
    event({
      type: 'tool_request',
      call_id: 'c1',
      tool_slug: 'gmail__search',
      args: {},
      require_confirmation: false,
    }),
    event({
      type: 'authorization_required',
      call_id: 'c1',
      tool_slug: 'gmail__search',
      server: 'gmail',
      authorization_url: 'https://auth.example/authorize?state=abc',
      expires_at: '2030-01-01T00:10:00.000Z',
      scopes: ['mail.read'],
    }),
  ];
  return { event, actions };
}

describe('useAssistant state: calls waiting for the user to connect a server', () => {
  it('lists the wait as pending (status awaiting_approval) until authorization_resolved', () => {
    const { event, actions } = waiting('r1');
    const paused = fold(actions);
    expect(paused.status).toBe('awaiting_approval');
    expect(pendingAuthorizationsOf(paused.messages)).toEqual([
      {
        runId: 'r1',
        callId: 'c1',
        toolSlug: 'gmail__search',
        server: 'gmail',
        authorizationUrl: 'https://auth.example/authorize?state=abc',
        expiresAt: '2030-01-01T00:10:00.000Z',
        scopes: ['mail.read'],
        status: 'pending',
      },
    ]);
    const resumed = fold(
      [
        event({
          type: 'authorization_resolved',
          call_id: 'c1',
          tool_slug: 'gmail__search',
          server: 'gmail',
          outcome: 'connected',
        }),
        event({
          type: 'tool_result',
          call_id: 'c1',
          tool_slug: 'gmail__search',
          result: { count: 201 },
          duration_ms: 3,
        }),
      ],
      paused,
    );
    expect(pendingAuthorizationsOf(resumed.messages)).toEqual([]);
    expect(resumed.status).toBe('streaming');
    const card = resumed.messages.find((message): message is ToolCard => message.role === 'tool');
    expect(card).toMatchObject({ status: 'succeeded', authorization: { status: 'connected' } });
  });

  it('ends a wait its run ended without (stopped, timed out) as expired', () => {
    const { event, actions } = waiting('r2');
    const ended = fold([
      ...actions,
      event({ type: 'final', text: '', usage, stop_reason: 'aborted', partial: true }),
    ]);
    expect(pendingAuthorizationsOf(ended.messages)).toEqual([]);
    const card = ended.messages.find((message): message is ToolCard => message.role === 'tool');
    expect(card?.authorization?.status).toBe('expired');
    expect(ended.status).toBe('idle');
  });
});
