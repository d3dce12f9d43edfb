import { type RunStream, type StewardClient, StewardClientError } from '@steward/transport-ws/client';
import { type ChatAction, type ChatState, chatReducer, initialChatState } from './chat-reducer.ts';
import type { HistoryMessage } from './history-messages.ts';
import { pendingInputsOf } from './input-requests.ts';
import type { UseAssistantResult } from './use-assistant.ts';

/**
 * @internal The framework-free half of `useAssistant`: holds the {@link ChatState}, talks to the
 * client, and owns at most one run stream. React subscribes with `useSyncExternalStore`.
 *
 * State changes always land in the store; listeners hear of them only while subscribed, so an
 * unmounted component is never updated. `start`/`dispose` follow the component's effect, so
 * StrictMode's mount, unmount, mount closes the stream and reopens it from the last seq.
 */
export interface ChatController
  extends Pick<
    UseAssistantResult,
    'send' | 'stop' | 'regenerate' | 'approve' | 'deny' | 'respondToInput' | 'reconnect'
  > {
  getState(): ChatState;
  subscribe(listener: () => void): () => void;
  /** Loads the history of the current session (once) and resumes the active run's stream. */
  start(): void;
  /** Closes the stream. Runs go on on the server; `start` resumes them. */
  dispose(): void;
  /** Switches to another session: clears the conversation and shows `history`, or loads it. */
  openSession(sessionId: string, history?: readonly HistoryMessage[]): void;
}

/** @internal */
export function createChatController(
  client: StewardClient,
  sessionId?: string,
  history?: readonly HistoryMessage[],
): ChatController {
  let state = initialChatState(sessionId);
  const listeners = new Set<() => void>();
  let started = false;
  let stream: RunStream | undefined;
  /** Bumped whenever a stream is opened or closed: callbacks of an older one are ignored. */
  let streamGeneration = 0;
  let historyRequested: string | undefined;
  let messageCount = 0;
  let stopWhenAccepted = false;
  /** The session whose unfinished run was last looked up: once per session, StrictMode included. */
  let resumeChecked: string | undefined;
  /** The run the shown history ends in, when it may still be under way. */
  let unfinishedRun: string | undefined;

  const dispatch = (action: ChatAction) => {
    const next = chatReducer(state, action);
    if (next === state) return;
    state = next;
    for (const listener of listeners) listener();
  };

  function showHistory(id: string, messages: readonly HistoryMessage[]): void {
    dispatch({ type: 'history_loaded', sessionId: id, messages });
    unfinishedRun = unfinishedRunOf(messages);
    if (started) resumeUnfinished(id);
  }

  /**
   * After a reload mid-answer the history ends in the run's user message (its answer is stored
   * when it ends): when the server says that run is still under way, stream it from seq 1.
   */
  function resumeUnfinished(id: string): void {
    const runId = unfinishedRun;
    if (runId === undefined || resumeChecked === id) return;
    resumeChecked = id;
    client.getRun(runId).then(
      (run) => {
        if (state.sessionId !== id || (run.status !== 'running' && run.status !== 'awaiting_approval'))
          return;
        const before = state;
        dispatch({ type: 'run_resumed', runId });
        if (state !== before && started) openStream(runId);
      },
      () => {}, // Not resumable (gone, or the network is away): the history stands as it is.
    );
  }

  function loadHistory(id: string): void {
    if (historyRequested === id) return;
    historyRequested = id;
    client.history(id).then(
      (messages) => showHistory(id, messages),
      (error: unknown) => {
        if (state.sessionId === id) dispatch({ type: 'request_failed', error: clientErrorOf(error) });
      },
    );
  }

  function closeStream(): void {
    streamGeneration++;
    stream?.close();
    stream = undefined;
  }

  function openStream(runId: string): void {
    closeStream();
    const generation = streamGeneration;
    const current = () => generation === streamGeneration;
    const opened = client.stream(runId, {
      afterSeq: state.lastSeq[runId] ?? 0,
      onConnection: (connection) => {
        if (current()) dispatch({ type: 'connection_changed', connection });
      },
      onProtocolError: (error) => {
        if (current()) dispatch({ type: 'request_failed', error });
      },
    });
    stream = opened;
    void (async () => {
      try {
        for await (const event of opened) {
          if (!current()) break;
          dispatch({ type: 'event_received', event });
        }
      } catch (error) {
        if (current()) dispatch({ type: 'stream_failed', runId, error: clientErrorOf(error) });
      } finally {
        if (current()) stream = undefined;
      }
    })();
  }

  async function stopRun(runId: string): Promise<void> {
    try {
      await client.stop(runId);
    } catch (error) {
      dispatch({ type: 'request_failed', error: clientErrorOf(error) });
    }
  }

  async function decide(callId: string, decision: (runId: string) => ReturnType<StewardClient['approve']>) {
    const card = state.messages.find((message) => message.role === 'tool' && message.callId === callId);
    const runId = card?.runId ?? state.activeRunId;
    if (runId === undefined) return;
    try {
      dispatch({ type: 'approval_decided', approval: await decision(runId) });
    } catch (error) {
      dispatch({ type: 'request_failed', error: clientErrorOf(error) });
    }
  }

  const controller: ChatController = {
    getState: () => state,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    start() {
      started = true;
      if (state.sessionId !== undefined) {
        loadHistory(state.sessionId);
        resumeUnfinished(state.sessionId);
      }
      if (state.activeRunId !== undefined && state.phase === 'running' && stream === undefined)
        openStream(state.activeRunId);
    },
    dispose() {
      started = false;
      closeStream();
    },
    openSession(id, given) {
      if (id === state.sessionId) return;
      closeStream();
      stopWhenAccepted = false;
      state = initialChatState(id);
      unfinishedRun = undefined;
      if (given !== undefined) {
        historyRequested = id;
        showHistory(id, given);
      }
      for (const listener of listeners) listener();
      if (started) loadHistory(id);
    },
    async send(text) {
      // One run per session at a time: the server would refuse a second one.
      if (text.trim() === '' || state.phase === 'submitting' || state.phase === 'running') return;
      const messageId = `local:${++messageCount}`;
      const sessionAtSend = state.sessionId;
      dispatch({ type: 'input_submitted', messageId, text });
      let accepted: { runId: string; sessionId: string };
      try {
        accepted = await client.respond(
          text,
          sessionAtSend === undefined ? {} : { sessionId: sessionAtSend },
        );
      } catch (error) {
        dispatch({ type: 'submit_failed', error: clientErrorOf(error) });
        return;
      }
      // The session was switched meanwhile: the run belongs to a conversation no longer shown.
      if (state.sessionId !== sessionAtSend) return;
      historyRequested ??= accepted.sessionId; // A new session has no earlier history to load.
      dispatch({ type: 'run_accepted', messageId, ...accepted });
      if (stopWhenAccepted) {
        stopWhenAccepted = false;
        await stopRun(accepted.runId);
      }
      if (started) openStream(accepted.runId);
    },
    async stop() {
      if (state.phase === 'submitting') {
        stopWhenAccepted = true;
        return;
      }
      if (state.activeRunId !== undefined) await stopRun(state.activeRunId);
    },
    async regenerate() {
      if (state.lastInput !== undefined) await controller.send(state.lastInput);
    },
    approve: (callId) => decide(callId, (runId) => client.approve(runId, callId)),
    async respondToInput(requestId, response) {
      const request = pendingInputsOf(state.messages).find((pending) => pending.requestId === requestId);
      if (request === undefined) return;
      try {
        const answer = await client.respondToInput(request.runId, requestId, response);
        dispatch({ type: 'input_answered', answer });
      } catch (error) {
        dispatch({ type: 'input_refused', requestId, error: clientErrorOf(error) });
      }
    },
    deny: (callId, reason) => decide(callId, (runId) => client.deny(runId, callId, reason)),
    reconnect() {
      const runId = state.activeRunId;
      if (runId === undefined || state.phase === 'submitting') return;
      dispatch({ type: 'stream_reopened', runId });
      if (started) openStream(runId);
    },
  };
  if (sessionId !== undefined && history !== undefined) {
    // Shown from the first render on (the server's too): no request, no empty first frame.
    historyRequested = sessionId;
    showHistory(sessionId, history);
  }
  return controller;
}

/** The run a history ends in when its answer is not there yet (a user message, or a tool step). */
function unfinishedRunOf(history: readonly HistoryMessage[]): string | undefined {
  const last = history.findLast((message) => message.role !== 'system');
  if (last === undefined) return undefined;
  const answered = last.role === 'assistant' && (last.toolCalls ?? []).length === 0;
  return answered ? undefined : last.run_id;
}

/** Requests fail with a `StewardClientError`; anything else (a throwing `getToken`) is wrapped in one. */
function clientErrorOf(error: unknown): StewardClientError {
  if (error instanceof StewardClientError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return Object.assign(new StewardClientError(0, 'internal_error', message), { cause: error });
}
