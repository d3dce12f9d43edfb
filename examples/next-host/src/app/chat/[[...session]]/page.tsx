import { notFound, redirect } from 'next/navigation';
import { Chat } from '../../../components/chat.tsx';
import { ConversationList } from '../../../components/conversation-list.tsx';
import { hostConfig } from '../../../server/config.ts';
import { historyOf } from '../../../server/orchestrator.ts';
import { currentUser } from '../../../server/session.ts';

/**
 * `/chat` starts a conversation, `/chat/<session id>` opens one. The server renders the list and
 * the opened conversation's history; the client component takes over from that same history.
 */
// biome-ignore lint/style/noDefaultExport: Next renders a route's page from its default export.
export default async function ChatPage({ params }: { params: Promise<{ session?: string[] }> }) {
  const user = await currentUser();
  if (user === undefined) redirect('/login');
  const { session } = await params;
  if (session !== undefined && session.length > 1) notFound();
  const sessionId = session?.[0] === undefined ? undefined : decodeURIComponent(session[0]);
  // Another user's session reads as missing, as the orchestrator says.
  const history = sessionId === undefined ? undefined : await historyOf(user, sessionId);
  if (sessionId !== undefined && history === undefined) notFound();
  return (
    <div className="layout">
      <nav aria-label="Conversations">
        <p className="who">
          Signed in as <strong>{user.name}</strong>
        </p>
        <a className="button" href="/chat">
          New conversation
        </a>
        <ConversationList userId={user.userId} current={sessionId} />
        <form method="post" action="/auth/logout">
          <button type="submit">Sign out</button>
        </form>
      </nav>
      <Chat
        orchestratorUrl={hostConfig().orchestratorUrl}
        {...(sessionId === undefined ? {} : { sessionId })}
        {...(history === undefined ? {} : { initialHistory: history })}
      />
    </div>
  );
}
