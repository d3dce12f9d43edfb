import type { Message, Storage } from '@steward/core';
import { describe, expect, it } from 'vitest';
import { runCompactionConformance } from './compaction-conformance.ts';
import { user, withRun } from './conformance-helpers.ts';
import { runEventConformance } from './event-conformance.ts';
import { runFenceConformance } from './fence-conformance.ts';
import { runTextConformance } from './text-conformance.ts';

/** Options of {@link runStorageConformance}. */
export interface StorageConformanceOptions {
  /** Names the adapter in the test titles. */
  name: string;
  /** A fresh, empty storage for each test. */
  create: () => Promise<Storage> | Storage;
}

/**
 * The contract every `Storage` adapter keeps, as a Vitest suite: call it from a test file of the
 * adapter with a factory of fresh storages. In-memory, Postgres and any adapter of yours run the
 * same checks.
 *
 * @example
 * ```ts
 * runStorageConformance({ name: 'postgres', create: () => createPostgresStorage({ connectionString }) });
 * ```
 */
export function runStorageConformance(options: StorageConformanceOptions): void {
  describe(`Storage conformance: ${options.name}`, () => {
    it('keeps sessions per user: another user’s session reads as missing and cannot be taken', async () => {
      const storage = await options.create();
      const session = await storage.ensureSession('s1', { userId: 'alice' });
      expect(session).toMatchObject({ id: 's1', userId: 'alice' });
      expect(await storage.ensureSession('s1', { userId: 'alice' })).toMatchObject({ id: 's1' });
      await expect(storage.ensureSession('s1', { userId: 'bob' })).rejects.toMatchObject({
        code: 'session_not_found',
      });
      expect(await storage.getSession('s1', { userId: 'bob' })).toBeUndefined();
      expect(await storage.getSession('missing', { userId: 'alice' })).toBeUndefined();
    });

    it('lists the newest messages in the order they were appended, for the owner only', async () => {
      const storage = await options.create();
      await withRun(storage);
      await storage.appendMessages('session-1', [
        { runId: 'run-1', message: user('one') },
        {
          runId: 'run-1',
          message: {
            role: 'assistant',
            content: '',
            toolCalls: [{ callId: 'c', name: 'f', arguments: '{}' }],
          },
        },
      ]);
      await storage.appendMessages('session-1', [
        {
          runId: 'run-1',
          message: { role: 'tool', callId: 'c', toolName: 'f', content: '{"ok":true}', result: { ok: true } },
        },
      ]);
      const all = await storage.listMessages('session-1', { userId: 'alice' });
      expect(all.map((entry) => entry.message.role)).toEqual(['user', 'assistant', 'tool']);
      expect(all[2]?.message).toEqual({
        role: 'tool',
        callId: 'c',
        toolName: 'f',
        content: '{"ok":true}',
        result: { ok: true },
      });
      expect(all.every((entry) => entry.runId === 'run-1' && entry.sessionId === 'session-1')).toBe(true);
      const newest = await storage.listMessages('session-1', { userId: 'alice', limit: 2 });
      expect(newest.map((entry) => entry.message.role)).toEqual(['assistant', 'tool']);
      expect(await storage.listMessages('session-1', { userId: 'bob' })).toEqual([]);
    });

    it('rejects a bad message with a typed error and stores nothing of its batch', async () => {
      const storage = await options.create();
      await withRun(storage);
      await storage.appendMessages('session-1', [{ runId: 'run-1', message: user('kept') }]);
      await expect(
        storage.appendMessages('session-1', [
          { runId: 'run-1', message: user('lost with its batch') },
          { runId: 'run-1', message: { role: 'robot' } as unknown as Message },
        ]),
      ).rejects.toMatchObject({ name: 'StewardError', code: 'storage_error', retryable: false });
      await expect(
        storage.appendMessages('session-1', [{ runId: 'run-1', message: user('nul \u0000 byte') }]),
      ).rejects.toMatchObject({
        name: 'StewardError',
        code: 'storage_error',
        retryable: false,
        details: { reason: 'unstorable_text' },
      });
      await expect(
        storage.appendMessages('missing', [{ runId: 'run-1', message: user('x') }]),
      ).rejects.toMatchObject({
        name: 'StewardError',
        code: 'not_found',
      });
      const stored = await storage.listMessages('session-1', { userId: 'alice' });
      expect(stored.map((entry) => entry.message.content)).toEqual(['kept']);
    });

    runCompactionConformance(options.create);

    it('creates, updates and reads runs for their owner; ids are unique', async () => {
      const storage = await options.create();
      const run = await withRun(storage);
      await expect(storage.createRun(run)).rejects.toMatchObject({ code: 'storage_error' });
      await storage.updateRun('run-1', {
        status: 'completed',
        stopReason: 'stop',
        text: 'done',
        partial: false,
        usage: { input_tokens: 1, output_tokens: 2, total_tokens: 3 },
      });
      expect(await storage.getRun('run-1', { userId: 'alice' })).toMatchObject({
        status: 'completed',
        stopReason: 'stop',
        text: 'done',
        usage: { total_tokens: 3 },
      });
      expect(await storage.getRun('run-1', { userId: 'bob' })).toBeUndefined();
      await expect(storage.updateRun('missing', { status: 'failed' })).rejects.toMatchObject({
        name: 'StewardError',
        code: 'not_found',
      });
    });

    it('moves a run’s status only from the expected status and epoch', async () => {
      const storage = await options.create();
      await withRun(storage);
      const paused = await storage.transitionRun('run-1', 'running', 'awaiting_approval');
      expect(paused).toEqual(expect.any(Number));
      expect(await storage.transitionRun('run-1', 'running', 'awaiting_approval')).toBeUndefined();
      expect(
        await storage.transitionRun('run-1', 'awaiting_approval', 'running', (paused as number) - 1),
      ).toBeUndefined();
      const claims = await Promise.all([
        storage.transitionRun('run-1', 'awaiting_approval', 'running', paused),
        storage.transitionRun('run-1', 'awaiting_approval', 'running', paused),
      ]);
      expect(claims.filter((claim) => claim !== undefined)).toHaveLength(1);
    });

    it('lists runs still running whose heartbeat stopped, of every user', async () => {
      const storage = await options.create();
      await withRun(storage, 'stale', 'alice', 's-a');
      await withRun(storage, 'done', 'bob', 's-b');
      await storage.updateRun('done', { status: 'completed' });
      const later = new Date(Date.now() + 60_000).toISOString();
      expect((await storage.listStaleRuns(later)).map((run) => run.id)).toEqual(['stale']);
      expect(await storage.listStaleRuns(new Date(Date.now() - 60_000).toISOString())).toEqual([]);
    });

    runEventConformance(options.create);
    runFenceConformance(options.create);
    runTextConformance(options.create);

    it('keeps approvals single-use under racing decisions', async () => {
      const storage = await options.create();
      await withRun(storage);
      const now = Date.now();
      const approval = {
        callId: 'c1',
        kind: 'consent' as const,
        runId: 'run-1',
        sessionId: 'session-1',
        userId: 'alice',
        toolName: 'send_email',
        argsHash: 'a'.repeat(64),
        args: { to: 'bob@example.com' },
        status: 'pending' as const,
        createdAt: new Date(now).toISOString(),
        expiresAt: new Date(now + 60_000).toISOString(),
      };
      await storage.createApproval(approval);
      await expect(storage.createApproval(approval)).rejects.toMatchObject({ code: 'storage_error' });
      expect(await storage.getApproval('c1', { userId: 'bob' })).toBeUndefined();
      const decisions = await Promise.all([
        storage.transitionApproval('c1', 'pending', {
          status: 'approved',
          decidedBy: 'alice',
          decidedAt: new Date().toISOString(),
        }),
        storage.transitionApproval('c1', 'pending', {
          status: 'denied',
          decidedBy: 'alice',
          decidedAt: new Date().toISOString(),
        }),
      ]);
      expect(decisions.filter((decision) => decision !== undefined)).toHaveLength(1);
      const uses = await Promise.all([
        storage.transitionApproval('c1', 'approved', { status: 'used' }),
        storage.transitionApproval('c1', 'approved', { status: 'used' }),
      ]);
      expect(uses.filter((use) => use !== undefined).length).toBeLessThanOrEqual(1);
      expect((await storage.listApprovals('run-1', { userId: 'alice' }))[0]).toMatchObject({
        callId: 'c1',
        args: { to: 'bob@example.com' },
      });
    });

    it("keeps a call's authorization apart from its consent, single-use as well", async () => {
      const storage = await options.create();
      await withRun(storage);
      const now = Date.now();
      const base = {
        callId: 'c2',
        runId: 'run-1',
        sessionId: 'session-1',
        userId: 'alice',
        toolName: 'mail__send',
        argsHash: 'c'.repeat(64),
        args: { to: 'bob@example.com' },
        createdAt: new Date(now).toISOString(),
        expiresAt: new Date(now + 60_000).toISOString(),
      };
      await storage.createApproval({ ...base, kind: 'consent', status: 'pending' });
      await storage.transitionApproval('c2', 'pending', { status: 'approved', decidedBy: 'alice' });
      await storage.transitionApproval('c2', 'approved', { status: 'used' });
      const authorization = {
        ...base,
        kind: 'authorization' as const,
        status: 'pending' as const,
        createdAt: new Date(now + 1_000).toISOString(),
        expiresAt: new Date(now + 600_000).toISOString(),
        server: 'gmail',
        authorizationUrl: 'https://auth.example/authorize?state=abc',
        scopes: ['mail.read', 'mail.send'],
      };
      await storage.createApproval(authorization);
      await expect(storage.createApproval(authorization)).rejects.toMatchObject({ code: 'storage_error' });
      expect(await storage.getApproval('c2', { userId: 'alice' })).toMatchObject({
        kind: 'consent',
        status: 'used',
      });
      expect(await storage.getApproval('c2', { userId: 'alice', kind: 'authorization' })).toEqual(
        authorization,
      );
      expect(await storage.getApproval('c2', { userId: 'bob', kind: 'authorization' })).toBeUndefined();
      // A transition of one kind leaves the other alone.
      expect(await storage.transitionApproval('c2', 'pending', { status: 'approved' })).toBeUndefined();
      const completions = await Promise.all([
        storage.transitionApproval(
          'c2',
          'pending',
          { status: 'approved', decidedBy: 'alice' },
          'authorization',
        ),
        storage.transitionApproval(
          'c2',
          'pending',
          { status: 'denied', decidedBy: 'alice' },
          'authorization',
        ),
      ]);
      expect(completions.filter((completion) => completion !== undefined)).toHaveLength(1);
      expect(
        (await storage.listApprovals('run-1', { userId: 'alice' })).map((approval) => [
          approval.kind,
          approval.callId,
        ]),
      ).toEqual([
        ['consent', 'c2'],
        ['authorization', 'c2'],
      ]);
    });

    it('starts each execution once in the ledger, and records how it ended', async () => {
      const storage = await options.create();
      await withRun(storage);
      const record = {
        key: 'run-1:c1',
        runId: 'run-1',
        callId: 'c1',
        toolName: 'send_email',
        argsHash: 'b'.repeat(64),
        status: 'started' as const,
        startedAt: new Date().toISOString(),
      };
      const starts = await Promise.all([
        storage.beginExecution(record),
        storage.beginExecution(record),
        storage.beginExecution(record),
      ]);
      expect(starts.filter((start) => start === undefined)).toHaveLength(1);
      await storage.finishExecution('run-1:c1', {
        status: 'succeeded',
        finishedAt: new Date().toISOString(),
        result: { id: 'm1' },
      });
      expect(await storage.beginExecution(record)).toMatchObject({
        status: 'succeeded',
        result: { id: 'm1' },
      });
    });

    it('keeps the audit log and tool permissions per user', async () => {
      const storage = await options.create();
      await storage.appendAudit({
        at: new Date().toISOString(),
        action: 'approval_requested',
        userId: 'alice',
        actor: 'steward',
        runId: 'r1',
      });
      await storage.appendAudit({
        at: new Date().toISOString(),
        action: 'approval_granted',
        userId: 'alice',
        actor: 'alice',
        runId: 'r2',
      });
      await storage.appendAudit({
        at: new Date().toISOString(),
        action: 'approval_granted',
        userId: 'bob',
        actor: 'bob',
        runId: 'r1',
      });
      expect((await storage.listAudit({ userId: 'alice' })).map((entry) => entry.action)).toEqual([
        'approval_requested',
        'approval_granted',
      ]);
      expect(await storage.listAudit({ userId: 'alice', runId: 'r1' })).toHaveLength(1);
      const grantedAt = new Date().toISOString();
      await storage.grantToolPermission({ userId: 'alice', toolName: 'send_email', grantedAt });
      await storage.grantToolPermission({ userId: 'alice', toolName: 'send_email', grantedAt });
      await storage.grantToolPermission({
        userId: 'alice',
        toolName: 'send_email',
        sessionId: 's1',
        grantedAt,
      });
      expect(await storage.listToolPermissions({ userId: 'alice' })).toHaveLength(2);
      expect(await storage.listToolPermissions({ userId: 'bob' })).toEqual([]);
      expect(await storage.revokeToolPermission({ userId: 'alice', toolName: 'send_email' })).toBe(true);
      expect(await storage.revokeToolPermission({ userId: 'alice', toolName: 'send_email' })).toBe(false);
      expect(await storage.listToolPermissions({ userId: 'alice' })).toEqual([
        expect.objectContaining({ toolName: 'send_email', sessionId: 's1' }),
      ]);
    });
  });
}
