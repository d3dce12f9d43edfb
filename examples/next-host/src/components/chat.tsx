'use client';

import { type HistoryMessage, useAssistant } from '@steward/react';
import { createStewardClient } from '@steward/transport-ws/client';
import { useEffect, useRef, useState } from 'react';
import { Composer } from './composer.tsx';
import { InputRequestForm } from './input-request.tsx';
import { MessageList } from './message-list.tsx';
import { createTokenSource } from './token-source.ts';

const busyStates = new Set([
  'submitting',
  'streaming',
  'awaiting_approval',
  'awaiting_input',
  'reconnecting',
]);

/**
 * The chat: `useAssistant` over a Steward client that talks to the orchestrator directly (another
 * origin) with this host's short-lived tokens. Server-rendered history comes in as
 * `initialHistory`, so the first render already shows it and the hook takes over from there.
 */
export function Chat(props: {
  orchestratorUrl: string;
  sessionId?: string;
  initialHistory?: HistoryMessage[];
}) {
  // One client for the page's lifetime: a new client would start a new conversation.
  const [client] = useState(() =>
    createStewardClient({ url: props.orchestratorUrl, getToken: createTokenSource() }),
  );
  const chat = useAssistant({
    client,
    ...(props.sessionId === undefined ? {} : { sessionId: props.sessionId }),
    ...(props.initialHistory === undefined ? {} : { initialHistory: props.initialHistory }),
  });
  useNewConversation(
    chat.sessionId,
    props.sessionId,
    chat.messages.find((message) => message.role === 'user')?.text ?? '',
  );
  const busy = busyStates.has(chat.status);

  return (
    <main className="chat">
      <MessageList messages={chat.messages} onApprove={chat.approve} onDeny={chat.deny} />
      {chat.pendingAuthorizations.map((wait) => (
        // The authorization server sends this tab on to /connections/callback, which finishes it
        // as this user; the run here goes on by itself.
        <p key={wait.callId} className="authorization" data-call-id={wait.callId}>
          The assistant needs your {wait.server} account.{' '}
          <a className="button" href={wait.authorizationUrl} target="_blank" rel="noopener noreferrer">
            Connect {wait.server}
          </a>
        </p>
      ))}
      {chat.pendingInputs.map((request) => (
        <InputRequestForm key={request.requestId} request={request} onAnswer={chat.respondToInput} />
      ))}
      <p role="status" className={`status status-${chat.status}`} data-status={chat.status}>
        {statusText(chat.status)}
      </p>
      {chat.error !== undefined && (
        <p role="alert" className="error">
          {'type' in chat.error ? `The assistant failed: ${chat.error.code}` : chat.error.message}{' '}
          {chat.status === 'error' &&
            chat.error !== undefined &&
            !('type' in chat.error) &&
            chat.error.code === 'connection_lost' && (
              <button type="button" onClick={chat.reconnect}>
                Reconnect
              </button>
            )}
        </p>
      )}
      <Composer busy={busy} onSend={chat.send} onStop={chat.stop} />
    </main>
  );
}

/**
 * A conversation the first message created: put its id in the URL (a reload opens it, and the
 * server renders its history) and add it to the user's list on the server. The list shows it from
 * the next page load: refreshing the server components now would remount this page mid-answer.
 */
function useNewConversation(
  sessionId: string | undefined,
  shownSessionId: string | undefined,
  title: string,
) {
  const recorded = useRef<string | undefined>(shownSessionId);
  useEffect(() => {
    if (sessionId === undefined || recorded.current === sessionId) return;
    recorded.current = sessionId;
    window.history.replaceState(null, '', `/chat/${encodeURIComponent(sessionId)}`);
    void fetch('/api/conversations', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ session_id: sessionId, title }),
    });
  }, [sessionId, title]);
}

function statusText(status: string): string {
  switch (status) {
    case 'submitting':
      return 'Sending…';
    case 'streaming':
      return 'Answering…';
    case 'awaiting_approval':
      return 'Waiting for your approval';
    case 'awaiting_input':
      return 'Waiting for your answer';
    case 'reconnecting':
      return 'Reconnecting…';
    case 'error':
      return 'Something went wrong';
    default:
      return 'Ready';
  }
}
