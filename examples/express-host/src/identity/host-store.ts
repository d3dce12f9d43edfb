import { z } from 'zod';

/** A person who signed in, as the host keeps them. */
export interface UserRecord {
  /** The Steward user id every API call and run token carries. */
  readonly id: string;
  /** Where they signed in (the OIDC issuer, or `dev` for the development sign-in). */
  readonly issuer: string;
  readonly subject: string;
  readonly name: string;
  readonly email?: string;
  readonly roles: readonly string[];
  readonly createdAt: string;
  readonly lastSignInAt: string;
}

/** One conversation in a user's list: core keeps its messages; the host keeps the list. */
export interface ConversationRecord {
  /** The Steward session id. */
  readonly id: string;
  readonly userId: string;
  /** The first message, shortened. */
  readonly title: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/**
 * The host's own records: users and, per user, their conversations newest first. Core's
 * `Storage` has no "sessions of a user" query, so the pages keep this index beside it.
 */
export interface HostStore {
  /** Creates or updates the user (name, email, roles, last sign-in); keeps `createdAt`. */
  saveUser(user: Omit<UserRecord, 'createdAt' | 'lastSignInAt'>): Promise<UserRecord>;
  getUser(userId: string): Promise<UserRecord | undefined>;
  /** Records activity in a conversation: created with `title` the first time, then only touched. */
  touchConversation(userId: string, conversationId: string, title: string): Promise<ConversationRecord>;
  getConversation(userId: string, conversationId: string): Promise<ConversationRecord | undefined>;
  /** Newest activity first. */
  listConversations(userId: string): Promise<readonly ConversationRecord[]>;
  deleteConversation(userId: string, conversationId: string): Promise<boolean>;
  /** Forgets the user and their conversation list. */
  deleteUser(userId: string): Promise<void>;
  close(): Promise<void>;
}

/** A conversation's title: its first message on one line, at most 80 characters. */
export function titleOf(message: string): string {
  const line = message.replace(/\s+/g, ' ').trim();
  return line.length > 80 ? `${line.slice(0, 79)}…` : line || 'New conversation';
}

/** @internal Rows read back from any store are checked like any other input. */
export const userRecordSchema = z.object({
  id: z.string().min(1),
  issuer: z.string().min(1),
  subject: z.string().min(1),
  name: z.string(),
  email: z.string().optional(),
  roles: z.array(z.string()),
  createdAt: z.string(),
  lastSignInAt: z.string(),
});

/** @internal */
export const conversationRecordSchema = z.object({
  id: z.string().min(1),
  userId: z.string().min(1),
  title: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

/** The host's records in this process's memory (the default; lost at restart, like in-memory storage). */
export function createInMemoryHostStore(options: { now?: () => number } = {}): HostStore {
  const now = () => new Date((options.now ?? Date.now)()).toISOString();
  const users = new Map<string, UserRecord>();
  const conversations = new Map<string, Map<string, ConversationRecord>>();
  const listOf = (userId: string) => {
    let list = conversations.get(userId);
    if (list === undefined) {
      list = new Map();
      conversations.set(userId, list);
    }
    return list;
  };
  return {
    async saveUser(user) {
      const at = now();
      const saved: UserRecord = { ...user, createdAt: users.get(user.id)?.createdAt ?? at, lastSignInAt: at };
      users.set(user.id, saved);
      return saved;
    },
    async getUser(userId) {
      return users.get(userId);
    },
    async touchConversation(userId, conversationId, title) {
      const list = listOf(userId);
      const at = now();
      const existing = list.get(conversationId);
      const saved: ConversationRecord = existing
        ? { ...existing, updatedAt: at }
        : { id: conversationId, userId, title: titleOf(title), createdAt: at, updatedAt: at };
      list.set(conversationId, saved);
      return saved;
    },
    async getConversation(userId, conversationId) {
      return conversations.get(userId)?.get(conversationId);
    },
    async listConversations(userId) {
      return [...(conversations.get(userId)?.values() ?? [])].sort(
        (a, b) => b.updatedAt.localeCompare(a.updatedAt) || b.createdAt.localeCompare(a.createdAt),
      );
    },
    async deleteConversation(userId, conversationId) {
      return conversations.get(userId)?.delete(conversationId) ?? false;
    },
    async deleteUser(userId) {
      users.delete(userId);
      conversations.delete(userId);
    },
    async close() {},
  };
}
