import { Assistant, type ModelRequest, type Storage } from '@steward/core';
import { createMailTool, createScriptedModel, type ScriptedReply } from '@steward/core/testing';
import { createMcpRegistry, type McpRegistry } from '@steward/mcp';
import { createJwtAuth, type StewardServer, startStewardServer } from '@steward/transport-ws';
import { signTestToken } from '@steward/transport-ws/testing';
import { afterAll, beforeAll } from 'vitest';
import { printFigures } from '../budget.ts';

export const secret = 'reliability-fuzz-secret-of-at-least-32-bytes';

/** A user's fixtures: a finished run and one waiting for approval, in one session. */
export interface UserFixtures {
  readonly token: string;
  readonly sessionId: string;
  readonly finishedRunId: string;
  readonly waiting: { readonly runId: string; readonly callId: string };
}

/** A real server over a scripted model with the side-effect mail tool, and fixtures for two users. */
export interface TransportTarget {
  readonly url: string;
  readonly port: number;
  readonly server: StewardServer;
  readonly assistant: Assistant;
  readonly registry: McpRegistry;
  /** Addresses the mail tool "sent" to: a side effect runs only after an approval. */
  readonly sent: readonly string[];
  readonly ann: UserFixtures;
  readonly bob: UserFixtures;
  readonly adminToken: string;
  /** A user with no fixtures, for properties that start runs by the thousand (limits stay per user). */
  readonly carolToken: string;
  /** A run token of ann's finished run: it reads that run and nothing else. */
  readonly annRunToken: string;
  /** Starts a run of ann's that waits for approval (fixtures get used up by valid decisions). */
  waitingRun(userId?: string): Promise<{ runId: string; callId: string }>;
  close(): Promise<void>;
}

// Inputs starting with "mail" make the model call the side-effect tool; anything else is answered.
const reply = (request: ModelRequest): ScriptedReply => {
  const last = request.messages.at(-1);
  if (last?.role === 'tool') return { text: 'Sent it.' };
  const input = last?.role === 'user' ? last.content : '';
  if (input.startsWith('mail'))
    return { toolCalls: [{ name: 'send_email', arguments: { to: 'x@example.com' } }] };
  return { text: 'Fine, thanks. Anything else?' };
};

export async function startTransportTarget(options: { storage?: Storage } = {}): Promise<TransportTarget> {
  const { tool, sent } = createMailTool();
  const assistant = new Assistant({
    // One reply function per model call: the script never runs out however many runs the fuzzers start.
    model: createScriptedModel(new Array(1_000_000).fill(reply)),
    tools: [tool],
    ...(options.storage === undefined ? {} : { storage: options.storage }),
  });
  const registry = createMcpRegistry({});
  const server = await startStewardServer({ assistant, auth: createJwtAuth({ secret }), tools: registry });
  const port = Number(new URL(server.url).port);

  const waitingRun = async (userId = 'ann', sessionId?: string) => {
    const run = await assistant.start({
      input: 'mail bob',
      userId,
      ...(sessionId === undefined ? {} : { sessionId }),
    });
    for await (const event of run)
      if (event.type === 'approval_required') return { runId: run.id, callId: event.call_id };
    throw new Error('the fixture run ended without asking for approval');
  };
  const fixtures = async (userId: string): Promise<UserFixtures> => {
    const finished = await assistant.start({ input: 'hello', userId });
    await finished.result;
    return {
      token: await signTestToken({ secret, userId, expiresIn: '1h' }),
      sessionId: finished.sessionId,
      finishedRunId: finished.id,
      waiting: await waitingRun(userId, finished.sessionId),
    };
  };
  const ann = await fixtures('ann');
  const bob = await fixtures('bob');
  return {
    url: server.url,
    port,
    server,
    assistant,
    registry,
    sent,
    ann,
    bob,
    adminToken: await signTestToken({
      secret,
      userId: 'root',
      claims: { roles: ['admin'] },
      expiresIn: '1h',
    }),
    carolToken: await signTestToken({ secret, userId: 'carol', expiresIn: '1h' }),
    annRunToken: await server.api.auth.issueRunToken({
      userId: 'ann',
      runId: ann.finishedRunId,
      ttlSeconds: 3600,
    }),
    waitingRun: (userId) => waitingRun(userId),
    async close() {
      await server.close();
      await registry.close();
      assistant.close();
    },
  };
}

/**
 * One target for a test file: started before its first test, closed after its last, when the
 * file's figures are printed under `title`. Read it through the returned function, inside tests.
 */
export function useTransportTarget(title: string): () => TransportTarget {
  let target: TransportTarget | undefined;
  beforeAll(async () => {
    target = await startTransportTarget();
  });
  afterAll(async () => {
    await target?.close();
    printFigures(title);
  });
  return () => {
    if (target === undefined) throw new Error('The transport target is read before beforeAll started it');
    return target;
  };
}
