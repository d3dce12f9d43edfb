'use client';

import type { ChatMessage } from '@steward/react';
import { ToolCardView } from './tool-card.tsx';

/** The conversation: user and assistant messages, and a card per tool call, in the order they happened. */
export function MessageList(props: {
  messages: readonly ChatMessage[];
  onApprove: (callId: string) => void;
  onDeny: (callId: string, reason?: string) => void;
}) {
  return (
    <ol className="messages" aria-label="Conversation">
      {props.messages.map((message) => (
        <li key={message.id} className={`message ${message.role}`} data-role={message.role}>
          {message.role === 'tool' ? (
            <ToolCardView card={message} onApprove={props.onApprove} onDeny={props.onDeny} />
          ) : (
            <>
              <p className="text">{message.text}</p>
              {message.role === 'assistant' && message.partial && <p className="note">(stopped)</p>}
            </>
          )}
        </li>
      ))}
    </ol>
  );
}
