import { listConversations } from '../server/conversations.ts';

/** A server component: the signed-in user's conversations, newest first. */
export function ConversationList({ userId, current }: { userId: string; current: string | undefined }) {
  const conversations = listConversations(userId);
  if (conversations.length === 0) return <p className="empty">No conversations yet.</p>;
  return (
    <ul className="conversations">
      {conversations.map((conversation) => (
        <li key={conversation.id}>
          <a
            href={`/chat/${encodeURIComponent(conversation.id)}`}
            aria-current={conversation.id === current ? 'page' : undefined}
          >
            {conversation.title}
          </a>
        </li>
      ))}
    </ul>
  );
}
