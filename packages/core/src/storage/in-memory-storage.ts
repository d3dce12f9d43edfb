import { z } from 'zod';
import { StewardError } from '../errors/steward-error.ts';
import type { StewardEvent } from '../events/stream-event.ts';
import { parseOptions } from '../internal/parse-options.ts';
import { type Message, messageSchema } from '../model/message.ts';
import { createInMemoryConsent } from './in-memory-consent.ts';
import type { OwnerScope, RunRecord, RunUpdate, SessionRecord, Storage, StoredMessage } from './storage.ts';

const optionsSchema = z.object({
  /** Largest message accepted, in UTF-8 bytes of its JSON form. */
  maxMessageBytes: z.number().int().positive().default(1_000_000),
});

/** True when a string anywhere in `value` holds NUL or a lone surrogate (not valid UTF-8). */
function hasUnstorableText(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000') || !value.isWellFormed();
  if (Array.isArray(value)) return value.some(hasUnstorableText);
  if (value !== null && typeof value === 'object') return Object.values(value).some(hasUnstorableText);
  return false;
}

/** A valid, storable copy of `message`, or a `storage_error` saying why it is not. */
function checkMessage(message: Message, maxMessageBytes: number): Message {
  const parsed = messageSchema.safeParse(message);
  if (!parsed.success) {
    throw new StewardError('storage_error', `Invalid message: ${parsed.error.message}`, {
      details: { issues: parsed.error.issues },
    });
  }
  if (hasUnstorableText(parsed.data)) {
    // What a database would refuse (NUL, broken surrogate pairs) is refused here too.
    throw new StewardError('storage_error', 'Message text has a NUL character or invalid Unicode');
  }
  const bytes = new TextEncoder().encode(JSON.stringify(parsed.data)).length;
  if (bytes > maxMessageBytes) {
    throw new StewardError(
      'storage_error',
      `Message of ${bytes} bytes exceeds maxMessageBytes (${maxMessageBytes})`,
    );
  }
  return structuredClone(parsed.data as Message);
}

/** Options of {@link createInMemoryStorage}. */
export interface InMemoryStorageOptions {
  /** Largest message accepted, in UTF-8 bytes of its JSON form. Default 1,000,000. */
  maxMessageBytes?: number;
}

interface RunEntry {
  record: RunRecord;
  events: StewardEvent[];
}

/**
 * Keeps everything in process memory: the default, so Steward runs with no server. Records are
 * copied in and out, so callers can never mutate what is stored.
 */
export function createInMemoryStorage(options: InMemoryStorageOptions = {}): Storage {
  const { maxMessageBytes } = parseOptions(optionsSchema, options, 'createInMemoryStorage');
  const sessions = new Map<string, SessionRecord>();
  const messages = new Map<string, StoredMessage[]>();
  const runs = new Map<string, RunEntry>();
  let nextMessageId = 1;

  const ownRun = (runId: string, scope: OwnerScope): RunEntry | undefined => {
    const entry = runs.get(runId);
    return entry?.record.userId === scope.userId ? entry : undefined;
  };
  const requireRun = (runId: string): RunEntry => {
    const entry = runs.get(runId);
    if (entry === undefined) throw new StewardError('not_found', `Run ${runId} does not exist`);
    return entry;
  };

  return {
    ...createInMemoryConsent(),
    async listStaleRuns(updatedBefore, listOptions) {
      const stale = [...runs.values()]
        .map((entry) => entry.record)
        .filter((record) => record.status === 'running' && record.updatedAt < updatedBefore);
      return structuredClone(stale.slice(0, listOptions?.limit ?? 100));
    },
    async transitionRun(runId, from, to, epoch) {
      const entry = requireRun(runId);
      const current = entry.record.epoch ?? 0;
      if (entry.record.status !== from || (epoch !== undefined && epoch !== current)) return undefined;
      entry.record = { ...entry.record, status: to, epoch: current + 1, updatedAt: new Date().toISOString() };
      return current + 1;
    },
    async ensureSession(sessionId, scope) {
      const existing = sessions.get(sessionId);
      if (existing !== undefined) {
        if (existing.userId !== scope.userId) {
          throw new StewardError('session_not_found', `Session ${sessionId} does not exist`);
        }
        return { ...existing };
      }
      const created: SessionRecord = {
        id: sessionId,
        userId: scope.userId,
        createdAt: new Date().toISOString(),
      };
      sessions.set(sessionId, created);
      messages.set(sessionId, []);
      return { ...created };
    },
    async getSession(sessionId, scope) {
      const session = sessions.get(sessionId);
      return session?.userId === scope.userId ? { ...session } : undefined;
    },
    async appendMessages(sessionId, batch) {
      const list = messages.get(sessionId);
      if (list === undefined) throw new StewardError('not_found', `Session ${sessionId} does not exist`);
      // Validate the whole batch before storing any of it, so a bad message loses nothing.
      const checked: StoredMessage[] = batch.map(({ runId, message }) => ({
        id: String(nextMessageId++),
        sessionId,
        runId,
        createdAt: new Date().toISOString(),
        message: checkMessage(message, maxMessageBytes),
      }));
      list.push(...checked);
    },
    async compactMessages(sessionId, scope, { throughMessageId, runId, summary }) {
      const list = messages.get(sessionId);
      if (list === undefined || sessions.get(sessionId)?.userId !== scope.userId) {
        throw new StewardError('session_not_found', `Session ${sessionId} does not exist`);
      }
      const through = list.findIndex((entry) => entry.id === throughMessageId);
      if (through === -1) {
        throw new StewardError('not_found', `Message ${throughMessageId} is not in session ${sessionId}`);
      }
      const last = list[through] as StoredMessage;
      // The summary takes the place of the last message it replaces: its id, its time, its position.
      const stored: StoredMessage = { ...last, runId, message: checkMessage(summary, maxMessageBytes) };
      list.splice(0, through + 1, stored);
      return { summary: structuredClone(stored), replaced: through + 1 };
    },
    async listMessages(sessionId, scope) {
      if (sessions.get(sessionId)?.userId !== scope.userId) return [];
      const list = messages.get(sessionId) ?? [];
      const slice = scope.limit === undefined ? list : list.slice(Math.max(0, list.length - scope.limit));
      return structuredClone(slice);
    },
    async createRun(run) {
      if (runs.has(run.id)) throw new StewardError('storage_error', `Run ${run.id} already exists`);
      runs.set(run.id, { record: { ...run }, events: [] });
    },
    async updateRun(runId, update: RunUpdate) {
      const entry = requireRun(runId);
      entry.record = { ...entry.record, ...structuredClone(update), updatedAt: new Date().toISOString() };
    },
    async getRun(runId, scope) {
      const entry = ownRun(runId, scope);
      return entry === undefined ? undefined : structuredClone(entry.record);
    },
    async appendEvents(runId, events) {
      const entry = requireRun(runId);
      let expected = entry.events.length + 1;
      for (const event of events) {
        if (event.run_id !== runId || event.seq !== expected) {
          throw new StewardError(
            'storage_error',
            `Event seq ${event.seq} of run ${event.run_id} does not follow seq ${expected - 1} of run ${runId}`,
            { details: { lastSeq: entry.events.length } },
          );
        }
        expected++;
      }
      // Events are flat and frozen by the run loop; only tool payloads hold objects a caller could
      // still change, so only those are copied on this hot path.
      for (const event of events)
        entry.events.push(event.type.startsWith('tool_') ? structuredClone(event) : event);
    },
    async listEvents(runId, scope) {
      const entry = ownRun(runId, scope);
      if (entry === undefined) return [];
      return structuredClone(entry.events.slice(scope.afterSeq ?? 0));
    },
  };
}
