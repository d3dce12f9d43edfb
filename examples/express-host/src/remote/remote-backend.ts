import { type ApprovalRecord, type RunRecord, StewardError, type StoredMessage } from '@steward/core';
import type { ApprovalView, Authenticator, RunView } from '@steward/transport-ws';
import { createStewardClient, type StewardClient } from '@steward/transport-ws/client';
import type { ChatBackend } from '../frontend/backend.ts';
import { fromOrchestrator, isMissing } from './orchestrator-errors.ts';
import type { ServiceTokenMinter } from './service-tokens.ts';

/** Options of {@link createRemoteBackend}. */
export interface RemoteBackendOptions {
  /** The orchestrator's base URL (`http://orchestrator:8080`): its `/api/v1` and `/ws`. */
  url: string;
  /** Mints the service token that carries the user, per request. */
  serviceTokens: ServiceTokenMinter;
  /** The host's own authenticator: it signs the run tokens the page streams through the host's relay. */
  auth: Authenticator;
  /** Default: the global `fetch`. */
  fetch?: typeof fetch;
}

/** A client of the orchestrator acting for one user; the token is minted fresh for every call. */
export type OrchestratorClientFor = (userId: string, roles?: readonly string[]) => StewardClient;

const runRecord = (userId: string, view: RunView): RunRecord => ({
  id: view.run_id,
  sessionId: view.session_id,
  userId,
  status: view.status,
  createdAt: view.created_at,
  updatedAt: view.updated_at,
  ...(view.stop_reason === undefined
    ? {}
    : { stopReason: view.stop_reason as NonNullable<RunRecord['stopReason']> }),
  ...(view.text === undefined ? {} : { text: view.text }),
  ...(view.partial === undefined ? {} : { partial: view.partial }),
  ...(view.usage === undefined ? {} : { usage: view.usage }),
});

const approvalRecord = (userId: string, view: ApprovalView): ApprovalRecord => ({
  callId: view.call_id,
  kind: view.kind,
  runId: view.run_id,
  sessionId: view.session_id,
  userId,
  toolName: view.tool_slug,
  // The orchestrator keeps the hash; the pages never read it.
  argsHash: '',
  args: view.arguments,
  status: view.status,
  createdAt: view.created_at,
  expiresAt: view.expires_at,
  ...(view.decided_at === undefined ? {} : { decidedAt: view.decided_at }),
  ...(view.reason === undefined ? {} : { reason: view.reason }),
  ...(view.server === undefined ? {} : { server: view.server }),
  ...(view.authorization_url === undefined ? {} : { authorizationUrl: view.authorization_url }),
});

/** Calls the orchestrator, turning its failures into what the in-process backend would throw. */
async function call<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw fromOrchestrator(error);
  }
}

/** Like {@link call}, with `missing` for a 404 (another user's, or no such thing). */
async function read<T, M>(operation: () => Promise<T>, missing: M): Promise<T | M> {
  try {
    return await operation();
  } catch (error) {
    if (isMissing(error)) return missing;
    throw fromOrchestrator(error);
  }
}

/** A client for one user against `url`, each request with a fresh service token. */
export function orchestratorClients(options: RemoteBackendOptions): OrchestratorClientFor {
  return (userId, roles = []) =>
    createStewardClient({
      url: options.url,
      getToken: () => options.serviceTokens(userId, roles),
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    });
}

/**
 * The pages over a remote orchestrator (the architecture's pattern A): every request is
 * forwarded to its API, server to server, with a service token that carries the signed-in user;
 * the page streams runs through the host's relay (`attachRunRelay`) with a run token the host
 * signs, so neither the service token nor the orchestrator's address reaches the browser.
 * Failures read as the in-process backend's (`session_busy`, `approval_conflict`, …), and an
 * orchestrator that cannot be reached as an `OrchestratorUnavailableError` (503).
 */
export function createRemoteBackend(options: RemoteBackendOptions): ChatBackend {
  const clientFor = orchestratorClients(options);
  const approvalOf = (userId: string, callId: string) =>
    read(() => clientFor(userId).getApproval(callId), undefined);

  return {
    async start(userId, sessionId, input) {
      const { runId } = await call(() => clientFor(userId).respond(input, { sessionId }));
      return { runId };
    },
    async history(userId, sessionId) {
      const messages = await read(() => clientFor(userId).history(sessionId), []);
      return messages.map(
        ({ id, run_id, created_at, ...message }): StoredMessage => ({
          id,
          sessionId,
          runId: run_id,
          createdAt: created_at,
          message: message as StoredMessage['message'],
        }),
      );
    },
    async run(userId, runId) {
      const view = await read(() => clientFor(userId).getRun(runId), undefined);
      return view === undefined ? undefined : runRecord(userId, view);
    },
    async approvals(userId, runId) {
      const views = await read(() => clientFor(userId).listApprovals(runId), []);
      return views.map((view) => approvalRecord(userId, view));
    },
    async approval(userId, callId) {
      const view = await approvalOf(userId, callId);
      return view === undefined ? undefined : approvalRecord(userId, view);
    },
    async decide(userId, callId, decision, decideOptions = {}) {
      if (decideOptions.always === true)
        throw new StewardError(
          'invalid_input',
          'Always allow is not available with a remote orchestrator: approve this call instead',
        );
      const approval = await approvalOf(userId, callId);
      if (approval === undefined)
        throw new StewardError('approval_not_found', `There is no approval ${callId}`);
      const client = clientFor(userId);
      await call(() =>
        decision === 'approve'
          ? client.approve(approval.run_id, callId)
          : client.deny(approval.run_id, callId, 'denied in the chat page'),
      );
    },
    pendingInputs: (userId, runId) => read(() => clientFor(userId).listInputs(runId), []),
    async respondToInput(userId, runId, requestId, response) {
      await call(() => clientFor(userId).respondToInput(runId, requestId, response));
    },
    stop: (userId, runId) => call(() => clientFor(userId).stop(runId)),
    async settle(userId, runId, timeoutMs) {
      const signal = AbortSignal.timeout(timeoutMs);
      const client = clientFor(userId);
      try {
        for await (const event of client.stream(runId, { signal })) {
          if (event.type === 'final') return;
          if (event.type === 'approval_required') {
            // An earlier pause of the run replays too: only a call still waiting counts.
            const approval = await approvalOf(userId, event.call_id);
            if (approval?.status === 'pending') return;
          }
          if (event.type === 'input_required') {
            // A replayed request may have been answered since; a live one was just asked.
            const open = await read(() => client.listInputs(runId), []);
            if (open.length === 0 || open.some((input) => input.request_id === event.request_id)) return;
          }
        }
      } catch {
        // Timed out, or the orchestrator went away: the page shows whatever it can read.
      }
    },
    runToken: (userId, runId) => options.auth.issueRunToken({ userId, runId }),
    // The orchestrator's API has no routes for standing permissions, the audit trail or a
    // user's deletion yet: the settings page shows none, and says deletion kept the messages.
    permissions: async () => [],
    revokePermission: async () => false,
    audit: async () => [],
    deleteUserData: async () => ({ deleted: false }),
  };
}
