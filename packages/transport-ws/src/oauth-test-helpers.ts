import { type Assistant, StewardError, type StewardEvent, type ToolProvider } from '@steward/core';
import { expect } from 'vitest';
import type { Authorizations } from './connections.ts';
import { open, userToken } from './test-helpers.ts';

/**
 * @internal An in-memory stand-in for the MCP registry's OAuth side: single-use states bound to a
 * user (and the run and call that waited), and one `mail` server whose tool refuses users who
 * have not connected with `authorization_required`, as the registry's per-user servers do. Like
 * the registry, it refuses a `userId` that did not begin the state (`wrong_user`) before using
 * the state up, unless `checksUser` is false (an object that does not check, for the API's backstop).
 */
export function fakeAuthorizations(options: { checksUser?: boolean } = {}) {
  const pending = new Map<string, { server: string; userId: string; runId?: string; callId?: string }>();
  const connected = new Map<string, string>();
  let counter = 0;
  const calls: string[] = [];
  const authorizations: Authorizations = {
    async beginAuthorization({ server: name, userId, runId, callId }) {
      if (name !== 'mail') throw new StewardError('invalid_input', `${name} is not a server users connect`);
      const state = `state-${++counter}-abcdefghijklmnop`;
      pending.set(state, {
        server: name,
        userId,
        ...(runId === undefined ? {} : { runId }),
        ...(callId === undefined ? {} : { callId }),
      });
      return {
        server: name,
        authorizationUrl: `https://auth.example/authorize?state=${state}`,
        state,
        expiresAt: new Date(Date.now() + 600_000).toISOString(),
      };
    },
    async completeAuthorization({ state, code, error, userId }) {
      calls.push(`attempt:${userId}`);
      const found = pending.get(state);
      if (found === undefined)
        throw new StewardError('authorization_failed', 'unknown state', {
          details: { reason: 'unknown_state' },
        });
      if (options.checksUser !== false && found.userId !== userId)
        throw new StewardError('authorization_failed', `begun by ${found.userId}`, {
          details: { server: found.server, reason: 'wrong_user' },
        });
      pending.delete(state);
      if (error !== undefined)
        throw new StewardError('authorization_failed', `denied: ${error}`, {
          details: { ...found, reason: 'denied', error },
        });
      calls.push(`complete:${code}`);
      connected.set(found.userId, '2030-01-01T00:00:00.000Z');
      return { ...found, scopes: ['mail.read'] };
    },
    async connections(userId) {
      const at = connected.get(userId);
      return [
        at === undefined
          ? { server: 'mail', status: 'not_connected' }
          : { server: 'mail', status: 'connected', scopes: ['mail.read'], connectedAt: at },
      ];
    },
    async disconnect({ server: name, userId }) {
      calls.push(`disconnect:${userId}`);
      return name === 'mail' && connected.delete(userId);
    },
  };
  const provider: ToolProvider = {
    name: 'mail',
    listTools: async () => [
      { name: 'mail__inbox', description: 'Inbox', inputSchema: { type: 'object' }, sideEffect: false },
    ],
    async callTool(_name, _args, context) {
      if (!connected.has(context.userId)) {
        const started = await authorizations.beginAuthorization({
          server: 'mail',
          userId: context.userId,
          runId: context.runId,
          callId: context.callId,
        });
        throw new StewardError('authorization_required', 'Connect mail first', {
          details: { ...started, scopes: ['mail.read'] },
        });
      }
      return { messages: 201 };
    },
  };
  return { authorizations, provider, pending, calls, connected };
}

/** @internal A run of `userId`'s paused on the `mail` server's `authorization_required`, with its state. */
export async function pausedRun(api: { url: string; assistant: Assistant }, userId = 'ann') {
  const token = await userToken(userId);
  const run = await api.assistant.start({ input: 'Inbox?', userId });
  const socket = open(api.url, { run_id: run.id }, { authorization: `Bearer ${token}` });
  const frames = await socket.until((frame) => frame.type === 'authorization_required');
  const required = frames.find((frame) => frame.type === 'authorization_required') as unknown as Extract<
    StewardEvent,
    { type: 'authorization_required' }
  >;
  await expect
    .poll(async () => (await api.assistant.getRun(run.id, { userId }))?.status)
    .toBe('awaiting_approval');
  return {
    run,
    socket,
    required,
    state: new URL(required.authorization_url).searchParams.get('state') as string,
  };
}

/** @internal The model's side of a paused run: one `mail__inbox` call, then an answer. */
export const inboxSteps = [
  { toolCalls: [{ name: 'mail__inbox', arguments: {}, callId: 'c-inbox' }] },
  { text: 'You have mail.' },
];
