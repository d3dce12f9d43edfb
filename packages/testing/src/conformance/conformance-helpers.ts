import type { Message, RunRecord, Storage } from '@steward/core';

/** @internal Opens `sessionId` for `userId` and creates a running run in it. */
export async function withRun(
  storage: Storage,
  runId = 'run-1',
  userId = 'alice',
  sessionId = 'session-1',
): Promise<RunRecord> {
  await storage.ensureSession(sessionId, { userId });
  const now = new Date().toISOString();
  const run: RunRecord = { id: runId, sessionId, userId, status: 'running', createdAt: now, updatedAt: now };
  await storage.createRun(run);
  return run;
}

/** @internal A user message. */
export const user = (content: string): Message => ({ role: 'user', content });
