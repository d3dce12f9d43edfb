// @vitest-environment node
import type { EventBase, StewardEvent } from '@steward/core';
import { StewardClientError } from '@steward/transport-ws/client';
import { describe, expect, it } from 'vitest';
import {
  type ChatAction,
  type ChatState,
  chatReducer,
  initialChatState,
  pendingApprovalsOf,
} from './chat-reducer.ts';
import type { HistoryMessage } from './history-messages.ts';

/** An event before the server stamps it. */
type EventInput = StewardEvent extends infer E
  ? E extends StewardEvent
    ? Omit<E, keyof EventBase>
    : never
  : never;

/** Stamps events of one run with gap-free seqs, as the server does. */
function runEvents(runId: string) {
  let seq = 0;
  return (event: EventInput): ChatAction => ({
    type: 'event_received',
    event: { ...event, run_id: runId, seq: ++seq, timestamp: new Date(0).toISOString() } as StewardEvent,
  });
}

const fold = (actions: readonly ChatAction[], state: ChatState = initialChatState()) =>
  actions.reduce(chatReducer, state);

const started = (runId: string): ChatAction[] => [
  { type: 'input_submitted', messageId: 'local:1', text: 'Hi' },
  { type: 'run_accepted', messageId: 'local:1', runId, sessionId: 's1' },
];

const usage = { input_tokens: 1, output_tokens: 1, total_tokens: 2 };

describe('chatReducer', () => {
  it('grows the answer token by token and settles on final', () => {
    const event = runEvents('r1');
    let state = fold([{ type: 'input_submitted', messageId: 'local:1', text: 'Hi' }]);
    expect(state.status).toBe('submitting');
    expect(state.messages).toEqual([{ role: 'user', id: 'local:1', text: 'Hi', runId: undefined }]);
    state = fold(
      [
        { type: 'run_accepted', messageId: 'local:1', runId: 'r1', sessionId: 's1' },
        event({ type: 'run_started', session_id: 's1', user_id: 'ann' }),
        event({ type: 'token', text: 'Hello ' }),
      ],
      state,
    );
    expect(state).toMatchObject({ status: 'streaming', sessionId: 's1', activeRunId: 'r1' });
    expect(state.messages.at(-1)).toMatchObject({ role: 'assistant', text: 'Hello ', streaming: true });
    state = fold(
      [
        event({ type: 'token', text: 'there' }),
        event({ type: 'final', text: 'Hello there', usage, stop_reason: 'stop', partial: false }),
      ],
      state,
    );
    expect(state).toMatchObject({ status: 'idle', activeRunId: undefined, lastSeq: { r1: 4 } });
    expect(state.messages).toEqual([
      { role: 'user', id: 'local:1', text: 'Hi', runId: 'r1' },
      { role: 'assistant', id: 'r1:2', runId: 'r1', text: 'Hello there', streaming: false, partial: false },
    ]);
  });

  it('drops an event whose seq it has already applied', () => {
    const token = {
      type: 'event_received',
      event: { type: 'token', text: 'once ', run_id: 'r1', seq: 2, timestamp: '' },
    } as const;
    const state = fold([...started('r1'), token, token, { ...token, event: { ...token.event, seq: 1 } }]);
    expect(state.messages.at(-1)).toMatchObject({ text: 'once ' });
    const same = chatReducer(state, token);
    expect(same).toBe(state);
  });

  it('moves a tool card from request through approval to its result, with text on both sides', () => {
    const event = runEvents('r1');
    const args = { to: 'c@d.e' };
    let state = fold([
      ...started('r1'),
      event({ type: 'token', text: 'Sending.' }),
      event({
        type: 'tool_request',
        call_id: 'c1',
        tool_slug: 'send_email',
        args,
        require_confirmation: true,
      }),
    ]);
    expect(state.messages.at(-1)).toMatchObject({
      role: 'tool',
      status: 'requested',
      requireConfirmation: true,
    });
    state = fold(
      [
        event({
          type: 'approval_required',
          call_id: 'c1',
          tool_slug: 'send_email',
          args,
          args_hash: 'h',
          expires_at: '2030-01-01T00:00:00.000Z',
          reason: 'send_email has side effects',
        }),
      ],
      state,
    );
    expect(state.status).toBe('awaiting_approval');
    expect(pendingApprovalsOf(state.messages).map((card) => card.callId)).toEqual(['c1']);
    state = chatReducer(state, {
      type: 'approval_decided',
      approval: {
        call_id: 'c1',
        kind: 'consent',
        run_id: 'r1',
        session_id: 's1',
        tool_slug: 'send_email',
        arguments: { to: 'a@b.c' },
        status: 'approved',
        created_at: '2030-01-01T00:00:00.000Z',
        expires_at: '2030-01-01T00:10:00.000Z',
      },
    });
    expect(state.status).toBe('streaming');
    expect(pendingApprovalsOf(state.messages)).toEqual([]);
    state = fold(
      [
        event({
          type: 'approval_resolved',
          call_id: 'c1',
          tool_slug: 'send_email',
          decision: 'approved',
          decided_by: 'ann',
        }),
        event({ type: 'tool_progress', call_id: 'c1', tool_slug: 'send_email', progress: 1, total: 2 }),
        event({
          type: 'tool_result',
          call_id: 'c1',
          tool_slug: 'send_email',
          result: { sent: true },
          duration_ms: 3,
        }),
        event({ type: 'token', text: 'Sent.' }),
        event({ type: 'final', text: 'Sending.Sent.', usage, stop_reason: 'stop', partial: false }),
      ],
      state,
    );
    expect(
      state.messages.map((message) => [
        message.role,
        message.role === 'tool' ? message.status : message.text,
      ]),
    ).toEqual([
      ['user', 'Hi'],
      ['assistant', 'Sending.'],
      ['tool', 'succeeded'],
      ['assistant', 'Sent.'],
    ]);
    expect(state.messages[2]).toMatchObject({
      callId: 'c1',
      args,
      result: { sent: true },
      durationMs: 3,
      progress: { progress: 1, total: 2, message: undefined },
      approval: { reason: 'send_email has side effects', argsHash: 'h', decidedBy: 'ann' },
    });
  });

  it('keeps a denied card denied when its error result arrives', () => {
    const event = runEvents('r1');
    const state = fold([
      ...started('r1'),
      event({
        type: 'tool_request',
        call_id: 'c1',
        tool_slug: 'send_email',
        args: {},
        require_confirmation: true,
      }),
      event({
        type: 'approval_required',
        call_id: 'c1',
        tool_slug: 'send_email',
        args: {},
        args_hash: 'h',
        expires_at: '',
        reason: '',
      }),
      event({
        type: 'approval_resolved',
        call_id: 'c1',
        tool_slug: 'send_email',
        decision: 'denied',
        reason: 'no',
      }),
      event({
        type: 'tool_result',
        call_id: 'c1',
        tool_slug: 'send_email',
        error: { code: 'tool_denied', message: 'The user denied send_email: no' },
        duration_ms: 0,
      }),
    ]);
    expect(state.messages.at(-1)).toMatchObject({
      status: 'denied',
      approval: { decisionReason: 'no' },
      error: { code: 'tool_denied' },
    });
  });

  it('keeps a stopped answer as partial, expires calls left waiting, and is idle, not failed', () => {
    const event = runEvents('r1');
    const state = fold([
      ...started('r1'),
      event({ type: 'token', text: 'Half an ' }),
      event({
        type: 'approval_required',
        call_id: 'c1',
        tool_slug: 'send_email',
        args: {},
        args_hash: 'h',
        expires_at: '',
        reason: '',
      }),
      event({ type: 'final', text: 'Half an ', usage, stop_reason: 'aborted', partial: true }),
    ]);
    expect(state).toMatchObject({ status: 'idle', error: undefined });
    expect(state.messages[1]).toMatchObject({ text: 'Half an ', partial: true, streaming: false });
    expect(state.messages[2]).toMatchObject({ role: 'tool', status: 'expired' });
  });

  it('ends in error with the run error event when the run fails', () => {
    const event = runEvents('r1');
    const token = event({ type: 'token', text: 'Hm' });
    const failure = event({ type: 'error', code: 'model_error', message: 'bad', retryable: false });
    const state = fold([
      ...started('r1'),
      token,
      failure,
      event({ type: 'final', text: 'Hm', usage, stop_reason: 'error', partial: true }),
    ]);
    expect(state.status).toBe('error');
    expect(state.error).toEqual((failure as { event: StewardEvent }).event);
  });

  it('brings the text of final when no token was seen', () => {
    const event = runEvents('r1');
    const state = fold([
      ...started('r1'),
      event({ type: 'final', text: 'All at once', usage, stop_reason: 'stop', partial: false }),
    ]);
    expect(state.messages.at(-1)).toMatchObject({ role: 'assistant', text: 'All at once', streaming: false });
  });

  it('tracks reconnects, stream failures and reopening', () => {
    const lost = new StewardClientError(0, 'connection_lost', 'Lost the stream');
    let state = fold([...started('r1'), { type: 'connection_changed', connection: 'open' }]);
    expect(state.status).toBe('streaming');
    state = chatReducer(state, { type: 'connection_changed', connection: 'reconnecting' });
    expect(state.status).toBe('reconnecting');
    state = chatReducer(state, { type: 'stream_failed', runId: 'r1', error: lost });
    expect(state).toMatchObject({ status: 'error', error: lost, activeRunId: 'r1' });
    state = chatReducer(state, { type: 'stream_reopened', runId: 'r1' });
    expect(state).toMatchObject({ status: 'streaming', error: undefined });
  });

  it('reports a failed submit and a failed request', () => {
    const unauthorized = new StewardClientError(401, 'unauthorized', 'Invalid bearer token');
    let state = fold([
      { type: 'input_submitted', messageId: 'local:1', text: 'Hi' },
      { type: 'submit_failed', error: unauthorized },
    ]);
    expect(state).toMatchObject({ status: 'error', error: unauthorized });
    expect(state.messages).toEqual([{ role: 'user', id: 'local:1', text: 'Hi', runId: undefined }]);
    state = fold([...started('r1')]);
    state = chatReducer(state, { type: 'request_failed', error: unauthorized });
    expect(state).toMatchObject({ status: 'streaming', error: unauthorized });
  });
});

describe('history', () => {
  const at = { created_at: '2026-01-01T00:00:00.000Z' };
  const history: HistoryMessage[] = [
    { role: 'system', content: 'summary', id: 'm0', run_id: 'r0', ...at },
    { role: 'user', content: 'Mail c and d', id: 'm1', run_id: 'r1', ...at },
    {
      role: 'assistant',
      content: 'On it.',
      toolCalls: [
        { callId: 'c1', name: 'send_email', arguments: '{"to":"c"}' },
        { callId: 'c2', name: 'send_email', arguments: '{"to":"d"}' },
      ],
      id: 'm2',
      run_id: 'r1',
      ...at,
    },
    {
      role: 'tool',
      callId: 'c1',
      toolName: 'send_email',
      content: '{"sent":true}',
      result: { sent: true },
      id: 'm3',
      run_id: 'r1',
      ...at,
    },
    {
      role: 'tool',
      callId: 'c2',
      toolName: 'send_email',
      content: '{"error":{"code":"tool_denied","message":"The user denied send_email"}}',
      isError: true,
      id: 'm4',
      run_id: 'r1',
      ...at,
    },
    { role: 'assistant', content: 'Sent to c', partial: true, id: 'm5', run_id: 'r1', ...at },
  ];

  it('maps stored messages to the rendered shape, before anything sent meanwhile', () => {
    const state = fold([
      { type: 'input_submitted', messageId: 'local:1', text: 'Next' },
      { type: 'run_accepted', messageId: 'local:1', runId: 'r2', sessionId: 's1' },
      { type: 'history_loaded', sessionId: 's1', messages: history },
    ]);
    expect(state.messages).toEqual([
      { role: 'user', id: 'm1', text: 'Mail c and d', runId: 'r1' },
      { role: 'assistant', id: 'm2', runId: 'r1', text: 'On it.', streaming: false, partial: false },
      expect.objectContaining({
        role: 'tool',
        callId: 'c1',
        args: { to: 'c' },
        status: 'succeeded',
        result: { sent: true },
      }),
      expect.objectContaining({
        role: 'tool',
        callId: 'c2',
        status: 'denied',
        error: { code: 'tool_denied', message: 'The user denied send_email' },
      }),
      { role: 'assistant', id: 'm5', runId: 'r1', text: 'Sent to c', streaming: false, partial: true },
      { role: 'user', id: 'local:1', text: 'Next', runId: 'r2' },
    ]);
  });

  it('shows a run once when the history, fetched during its submit, already holds it', () => {
    const state = fold(
      [
        { type: 'input_submitted', messageId: 'local:1', text: 'Next' },
        {
          type: 'history_loaded',
          sessionId: 's1',
          messages: [...history, { role: 'user', content: 'Next', id: 'm6', run_id: 'r2', ...at }],
        },
        { type: 'run_accepted', messageId: 'local:1', runId: 'r2', sessionId: 's1' },
      ],
      initialChatState('s1'),
    );
    expect(state.messages.filter((message) => message.runId === 'r2')).toEqual([
      { role: 'user', id: 'local:1', text: 'Next', runId: 'r2' },
    ]);
    expect(state.messages).toHaveLength(6);
  });

  it('ignores the history of a session no longer shown', () => {
    const state = initialChatState('s2');
    expect(chatReducer(state, { type: 'history_loaded', sessionId: 's1', messages: history })).toBe(state);
  });
});
