import {
  type CompactSessionOptions,
  compactSession,
  isStewardError,
  parseOptions,
  StewardError,
  summaryPrefix,
} from '@steward/core';
import { z } from 'zod';
import { guarded } from './pg-errors.ts';
import type { PostgresStorage } from './postgres-storage.ts';

/** Options of `PostgresStorage.compactSessions`. */
export interface CompactSessionsOptions {
  /** Newest messages each session keeps as they are (see `compactSession`). */
  readonly keepLast: number;
  /** Writes the summary, typically with a model call (see `compactSession`). */
  readonly summarize: CompactSessionOptions['summarize'];
  /** Only sessions with at least this many messages, summaries not counted. Default `keepLast + 2`. */
  readonly minMessages?: number;
  /** Only sessions with no message after this time (ISO-8601), so conversations in use are left alone. */
  readonly idleSince?: string;
  /** At most this many sessions, the longest idle first. Default: every session that matches. */
  readonly limit?: number;
  readonly signal?: AbortSignal;
}

/** What `compactSessions` did to one session. */
export interface CompactedSession {
  readonly sessionId: string;
  readonly userId: string;
  /** Messages the summary replaced: 0 when nothing could be compacted or it failed. */
  readonly replaced: number;
  /** Why this session failed; the others went on. */
  readonly error?: StewardError;
}

const optionsSchema = z.object({
  keepLast: z.number().int().nonnegative(),
  summarize: z.custom<CompactSessionsOptions['summarize']>(
    (value) => typeof value === 'function',
    'must be a function',
  ),
  minMessages: z.number().int().positive().optional(),
  idleSince: z.iso.datetime({ offset: true }).optional(),
  limit: z.number().int().positive().optional(),
  signal: z.custom<AbortSignal>((value) => value instanceof AbortSignal, 'must be an AbortSignal').optional(),
});

/** @internal Compacts, one after the other, the sessions of every user that match `options`. */
export async function compactSessions(
  storage: PostgresStorage,
  options: CompactSessionsOptions,
): Promise<readonly CompactedSession[]> {
  const parsed = parseOptions(optionsSchema, options, 'compactSessions');
  const db = storage.sql;
  const sessions = await guarded(
    'Finding sessions to compact',
    async () =>
      (
        await db.query<{ id: string; user_id: string }>(
          `SELECT s.id, s.user_id FROM ${db.table('sessions')} s JOIN ${db.table('messages')} m ON m.session_id = s.id
         GROUP BY s.id, s.user_id
         HAVING count(*) FILTER (WHERE NOT (m.message->>'role' = 'system' AND starts_with(m.message->>'content', $1))) >= $2
           AND ($3::timestamptz IS NULL OR max(m.created_at) < $3)
         ORDER BY max(m.created_at), s.id LIMIT $4`,
          [
            summaryPrefix,
            parsed.minMessages ?? parsed.keepLast + 2,
            parsed.idleSince ?? null,
            parsed.limit ?? null,
          ],
        )
      ).rows,
  );
  const outcomes: CompactedSession[] = [];
  for (const { id: sessionId, user_id: userId } of sessions) {
    parsed.signal?.throwIfAborted();
    try {
      const { replaced } = await compactSession(storage, {
        sessionId,
        userId,
        keepLast: parsed.keepLast,
        summarize: parsed.summarize,
        ...(parsed.signal === undefined ? {} : { signal: parsed.signal }),
      });
      outcomes.push({ sessionId, userId, replaced });
    } catch (error) {
      parsed.signal?.throwIfAborted();
      const typed = isStewardError(error)
        ? error
        : new StewardError('internal_error', `Compacting session ${sessionId} failed`, { cause: error });
      outcomes.push({ sessionId, userId, replaced: 0, error: typed });
    }
  }
  return outcomes;
}
