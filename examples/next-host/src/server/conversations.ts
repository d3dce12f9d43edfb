import { processSingleton } from './singleton.ts';

/** One conversation in a user's list: the orchestrator keeps its messages, this host the list. */
export interface Conversation {
  /** The Steward session id. */
  readonly id: string;
  readonly title: string;
  readonly createdAt: string;
}

// The Steward API has no "sessions of a user" query, so the host keeps each user's list, as the
// Express host does. In this process's memory: lost at restart, like the demo's sign-ins.
const lists = () => processSingleton('conversations', () => new Map<string, Conversation[]>());

/** A user's conversations, newest first. */
export function listConversations(userId: string): readonly Conversation[] {
  return lists().get(userId) ?? [];
}

/** Adds a conversation to the user's list (once). */
export function recordConversation(userId: string, id: string, title: string): Conversation {
  const list = lists().get(userId) ?? [];
  const existing = list.find((conversation) => conversation.id === id);
  if (existing !== undefined) return existing;
  const line = title.replace(/\s+/g, ' ').trim();
  const conversation = {
    id,
    title: (line.length > 80 ? `${line.slice(0, 79)}…` : line) || 'New conversation',
    createdAt: new Date().toISOString(),
  };
  lists().set(userId, [conversation, ...list]);
  return conversation;
}
