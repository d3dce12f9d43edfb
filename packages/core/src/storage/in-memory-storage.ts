import { z } from 'zod';
import { StewardError } from '../errors/steward-error.ts';
import type { StewardEvent } from '../events/stream-event.ts';
import { parseOptions } from '../internal/parse-options.ts';
import { type Message, messageSchema } from '../model/message.ts';
import { createInMemoryConsent } from './in-memory-consent.ts';
import { checkRunFence } from './run-fence.ts';
import type { OwnerScope, RunRecord, RunUpdate, SessionRecord, Storage, StoredMessage } from './storage.ts';
import { checkEventPage, checkStorable } from './storage-checks.ts';

const optionsSchema = z.object({
  /** Largest message accepted, in UTF-8 bytes of its JSON form. */
  maxMessageBytes: z.number().int().positive().default(1_000_000),
  _internal: z
    .object({ now: z.custom<() => number>((value) => typeof value === 'function', 'must be a function') })
    .partial()
    .strict()
    .optional(),
});

/** JSON with every object's keys sorted: equal strings mean equal content, whatever the key order. */
const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_key, item: unknown) =>
    item !== null && typeof item === 'object' && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );

/** A valid, storable copy of `message`, or a `storage_error` saying why it is not. */
function checkMessage(message: Message, maxMessageBytes: number): Message {
  const parsed = messageSchema.safeParse(message);
  if (!parsed.success) {
    throw new StewardError('storage_error', `Invalid message: ${parsed.error.message}`, {
      details: { issues: parsed.error.issues },
    });
  }
  checkStorable(parsed.data, 'message');
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
  /** @internal The clock of `createdAt` and `updatedAt`, for tests. Default `Date.now`. */
  _internal?: { now?: () => number };
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
  const { maxMessageBytes, _internal } = parseOptions(optionsSchema, options, 'createInMemoryStorage');
  const now = _internal?.now ?? Date.now;
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

  const consent = createInMemoryConsent();

  return {
    ...consent,
    // Every string a database would refuse is refused before anything is kept, as adapters do.
    async createApproval(approval) {
      checkStorable(approval, 'approval');
      return consent.createApproval(approval);
    },
    async transitionApproval(callId, from, update, kind) {
      checkStorable({ callId, ...update }, 'approval');
      return consent.transitionApproval(callId, from, update, kind);
    },
    async beginExecution(record) {
      checkStorable(record, 'execution');
      return consent.beginExecution(record);
    },
    async finishExecution(key, outcome) {
      checkStorable({ key, ...outcome }, 'execution');
      return consent.finishExecution(key, outcome);
    },
    async appendAudit(entry) {
      checkStorable(entry, 'audit');
      return consent.appendAudit(entry);
    },
    async grantToolPermission(permission) {
      checkStorable(permission, 'permission');
      return consent.grantToolPermission(permission);
    },
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
      entry.record = {
        ...entry.record,
        status: to,
        epoch: current + 1,
        updatedAt: new Date(now()).toISOString(),
      };
      return current + 1;
    },
    async ensureSession(sessionId, scope) {
      checkStorable({ sessionId, userId: scope.userId }, 'session');
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
        createdAt: new Date(now()).toISOString(),
      };
      sessions.set(sessionId, created);
      messages.set(sessionId, []);
      return { ...created };
    },
    async getSession(sessionId, scope) {
      const session = sessions.get(sessionId);
      return session?.userId === scope.userId ? { ...session } : undefined;
    },
    async appendMessages(sessionId, batch, fence) {
      const list = messages.get(sessionId);
      if (list === undefined) throw new StewardError('not_found', `Session ${sessionId} does not exist`);
      if (fence !== undefined) checkRunFence(fence.runId, fence, requireRun(fence.runId).record.epoch ?? 0);
      // Validate the whole batch before storing any of it, so a bad message loses nothing.
      checkStorable(
        batch.map(({ runId }) => ({ runId })),
        'messages',
      );
      const checked: StoredMessage[] = batch.map(({ runId, message }) => ({
        id: String(nextMessageId++),
        sessionId,
        runId,
        createdAt: new Date(now()).toISOString(),
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
      checkStorable(run, 'run');
      if (runs.has(run.id)) throw new StewardError('storage_error', `Run ${run.id} already exists`);
      runs.set(run.id, { record: { ...run }, events: [] });
    },
    async updateRun(runId, update: RunUpdate, fence) {
      checkStorable(update, 'run');
      const entry = requireRun(runId);
      checkRunFence(runId, fence, entry.record.epoch ?? 0);
      entry.record = {
        ...entry.record,
        ...structuredClone(update),
        updatedAt: new Date(now()).toISOString(),
      };
    },
    async getRun(runId, scope) {
      const entry = ownRun(runId, scope);
      return entry === undefined ? undefined : structuredClone(entry.record);
    },
    async appendEvents(runId, events, fence) {
      const entry = requireRun(runId);
      checkStorable(events, 'events');
      checkRunFence(runId, fence, entry.record.epoch ?? 0);
      if (events.length === 0) return;
      const last = entry.events.length;
      const first = (events[0] as StewardEvent).seq;
      // A batch may start anywhere in what is stored (a resend after a lost reply), and must go on
      // from there.
      const broken =
        first < 1 || first > last + 1
          ? 0
          : events.findIndex((event, index) => event.run_id !== runId || event.seq !== first + index);
      if (broken !== -1) {
        const event = events[broken] as StewardEvent;
        throw new StewardError(
          'storage_error',
          `Event seq ${event.seq} of run ${event.run_id} does not follow seq ${broken === 0 ? last : first + broken - 1} of run ${runId}`,
          { details: { lastSeq: last } },
        );
      }
      const stored = Math.min(events.length, last - first + 1);
      for (let index = 0; index < stored; index++) {
        const kept = entry.events[first - 1 + index] as StewardEvent;
        const resent = events[index] as StewardEvent;
        if (kept !== resent && canonicalJson(kept) !== canonicalJson(resent)) {
          throw new StewardError(
            'storage_error',
            `Event seq ${resent.seq} of run ${runId} is already stored with other content`,
            { details: { conflictSeq: resent.seq, lastSeq: last } },
          );
        }
      }
      // Events are flat and frozen by the run loop; only tool payloads hold objects a caller could
      // still change, so only those are copied on this hot path.
      for (const event of events.slice(stored))
        entry.events.push(event.type.startsWith('tool_') ? structuredClone(event) : event);
    },
    async listEvents(runId, scope) {
      checkEventPage(scope);
      const entry = ownRun(runId, scope);
      if (entry === undefined) return [];
      const after = scope.afterSeq ?? 0;
      return structuredClone(
        entry.events.slice(after, scope.limit === undefined ? undefined : after + scope.limit),
      );
    },
  };
}
