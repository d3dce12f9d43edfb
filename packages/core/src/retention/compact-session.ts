import { z } from 'zod';
import { StewardError } from '../errors/steward-error.ts';
import { parseOptions } from '../internal/parse-options.ts';
import type { Message, SystemMessage } from '../model/message.ts';
import type { Storage, StoredMessage } from '../storage/storage.ts';
import { compactionBoundary } from './compaction-boundary.ts';

/** How the text of a compaction summary begins, so people, hosts and models can tell it from a system prompt. */
export const summaryPrefix = 'Summary of the earlier conversation:';

/** The message a summary is stored as: a `system` message whose content starts with {@link summaryPrefix}. */
export function createSummaryMessage(text: string): SystemMessage {
  return { role: 'system', content: `${summaryPrefix}\n${text.trim()}` };
}

/** True for a summary that `compactSession` stored in place of older messages. */
export function isSummaryMessage(message: Message): message is SystemMessage {
  return message.role === 'system' && message.content.startsWith(summaryPrefix);
}

/** What `summarize` is given besides the messages. */
export interface SummarizeOptions {
  readonly signal?: AbortSignal | undefined;
}

/** Options of {@link compactSession}. */
export interface CompactSessionOptions {
  readonly sessionId: string;
  /** The session's owner: another user's session is refused with `session_not_found`. */
  readonly userId: string;
  /** How many of the newest messages stay as they are, at least (more when a tool call and its result would be split). */
  readonly keepLast: number;
  /**
   * Turns the older messages into a summary text, typically with a model call. They may start
   * with an earlier summary (see {@link isSummaryMessage}), which the new one should carry over.
   */
  readonly summarize: (messages: readonly Message[], options: SummarizeOptions) => Promise<string>;
  /** The run id the summary is stored under. Default `compaction-<uuid>`. */
  readonly runId?: string;
  readonly signal?: AbortSignal;
  /** @internal The id generator behind the default `runId`, for tests. Default `crypto.randomUUID`. */
  readonly _internal?: { readonly generateId?: () => string };
}

/** The outcome of {@link compactSession}. */
export interface SessionCompaction {
  /** How many messages the summary replaced; 0 when there was nothing to compact. */
  readonly replaced: number;
  /** The stored summary, when there was one. */
  readonly summary?: StoredMessage;
}

const isFunction = (value: unknown) => typeof value === 'function';
const optionsSchema = z.object({
  sessionId: z.string().min(1),
  userId: z.string().min(1),
  keepLast: z.number().int().nonnegative(),
  summarize: z.custom<CompactSessionOptions['summarize']>(isFunction, 'must be a function'),
  runId: z.string().min(1).optional(),
  signal: z.custom<AbortSignal>((value) => value instanceof AbortSignal, 'must be an AbortSignal').optional(),
  _internal: z
    .object({ generateId: z.custom<() => string>(isFunction, 'must be a function') })
    .partial()
    .strict()
    .optional(),
});

/** Runs that may still read or add to their messages: compacting them would break a resume. */
const activeStatuses = new Set(['running', 'awaiting_approval']);

/**
 * Replaces the older messages of a session with one summary message written by `summarize`,
 * keeping the newest `keepLast` (or a few more). The cut never separates a tool call from its
 * result and never touches a run that is still running or waiting for approval. The summary is a
 * `system` message starting with {@link summaryPrefix}; the next runs read it as history like
 * any other message. Messages appended while `summarize` works are kept.
 *
 * @example
 * ```ts
 * await compactSession(storage, {
 *   sessionId,
 *   userId,
 *   keepLast: 10,
 *   summarize: async (messages) => summarizeWithYourModel(messages),
 * });
 * ```
 */
export async function compactSession(
  storage: Storage,
  options: CompactSessionOptions,
): Promise<SessionCompaction> {
  const { sessionId, userId, keepLast, summarize, runId, signal, _internal } = parseOptions(
    optionsSchema,
    options,
    'compactSession',
  );
  const scope = { userId };
  if ((await storage.getSession(sessionId, scope)) === undefined) {
    throw new StewardError('session_not_found', `Session ${sessionId} does not exist`);
  }
  const stored = await storage.listMessages(sessionId, scope);
  const limit = await firstActiveMessage(storage, stored, stored.length - keepLast, userId);
  const boundary = compactionBoundary(
    stored.map((entry) => entry.message),
    limit,
  );
  const older = stored.slice(0, boundary).map((entry) => entry.message);
  // Nothing new to fold in: only an earlier summary is older than the kept window.
  if (older.length === 0 || (older.length === 1 && isSummaryMessage(older[0] as Message))) {
    return { replaced: 0 };
  }
  signal?.throwIfAborted();
  const text = await summarize(older, { signal });
  if (typeof text !== 'string' || text.trim() === '') {
    throw new StewardError('invalid_input', 'compactSession: summarize must resolve a non-empty text');
  }
  signal?.throwIfAborted();
  const compacted = await storage.compactMessages(sessionId, scope, {
    throughMessageId: (stored[boundary - 1] as StoredMessage).id,
    runId: runId ?? `compaction-${_internal?.generateId?.() ?? crypto.randomUUID()}`,
    summary: createSummaryMessage(text),
  });
  return { replaced: compacted.replaced, summary: compacted.summary };
}

/** The index of the first message, before `limit`, of a run still running or awaiting approval; else `limit`. */
async function firstActiveMessage(
  storage: Storage,
  stored: readonly StoredMessage[],
  limit: number,
  userId: string,
): Promise<number> {
  const candidates = stored.slice(0, Math.max(0, limit));
  const runIds = [...new Set(candidates.map((entry) => entry.runId))];
  const runs = await Promise.all(runIds.map((runId) => storage.getRun(runId, { userId })));
  const active = new Set(
    runs.flatMap((run) => (run !== undefined && activeStatuses.has(run.status) ? [run.id] : [])),
  );
  const first = candidates.findIndex((entry) => active.has(entry.runId));
  return first === -1 ? limit : first;
}
