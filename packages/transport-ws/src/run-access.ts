import {
  type ApprovalRecord,
  type Assistant,
  type InputRequiredEvent,
  type InputResponse,
  inputResponseSchema,
  openInputRequests,
  type RunRecord,
  type StewardEvent,
  safeIdSchema,
  safeTextSchema,
} from '@steward/core';
import { z } from 'zod';
import type { Principal } from './auth.ts';
import { HttpError } from './http-error.ts';

const inputPageSize = 256;

/** A decision on a waiting tool call, as REST bodies and WebSocket frames carry it. */
export const decisionSchema = z
  .object({
    call_id: safeIdSchema.min(1).max(512),
    decision: z.enum(['approve', 'deny']),
    reason: safeTextSchema.max(2_000).optional(),
  })
  .strict();

export type Decision = z.infer<typeof decisionSchema>;

/**
 * An answer to a tool's request for input (`input_required`), as REST bodies and WebSocket
 * frames carry it: `{ action: 'accept' | 'decline' | 'cancel', content? }` (content with accept only).
 */
export const inputAnswerSchema = inputResponseSchema as unknown as z.ZodType<InputResponse>;

/** The wire shape of an answered request for input. */
export interface InputView {
  readonly run_id: string;
  readonly request_id: string;
  readonly action: InputResponse['action'];
}

/** What a run's storage or internal failure says on the wire; the server's warnings have the rest. */
const runFailureMessages = {
  storage_error: 'The run failed in storage. The server log has the details.',
  internal_error: 'The run failed with an internal error. The server log has the details.',
} as const;

/** The wire shape of an approval: a tool call waiting for the user, or decided. */
export interface ApprovalView {
  readonly call_id: string;
  /**
   * `consent`: the user's yes or no to the call; `authorization`: the call waits for the user to
   * connect `server` at `authorization_url` (a call may have one of each).
   */
  readonly kind: ApprovalRecord['kind'];
  readonly run_id: string;
  readonly session_id: string;
  readonly tool_slug: string;
  /** The call's arguments, which an approval applies to (and only to). */
  readonly arguments: unknown;
  readonly status: ApprovalRecord['status'];
  readonly created_at: string;
  readonly expires_at: string;
  readonly decided_at?: string;
  readonly reason?: string;
  readonly server?: string;
  readonly authorization_url?: string;
}

export function approvalView(approval: ApprovalRecord): ApprovalView {
  return {
    call_id: approval.callId,
    kind: approval.kind,
    run_id: approval.runId,
    session_id: approval.sessionId,
    tool_slug: approval.toolName,
    arguments: approval.args,
    status: approval.status,
    created_at: approval.createdAt,
    expires_at: approval.expiresAt,
    ...(approval.decidedAt === undefined ? {} : { decided_at: approval.decidedAt }),
    ...(approval.reason === undefined ? {} : { reason: approval.reason }),
    ...(approval.server === undefined ? {} : { server: approval.server }),
    ...(approval.authorizationUrl === undefined ? {} : { authorization_url: approval.authorizationUrl }),
  };
}

/** The wire shape of a run. */
export interface RunView {
  readonly run_id: string;
  readonly session_id: string;
  readonly status: RunRecord['status'];
  readonly created_at: string;
  readonly updated_at: string;
  readonly stop_reason?: string;
  readonly text?: string;
  readonly partial?: boolean;
  readonly usage?: RunRecord['usage'];
}

export function runView(run: RunRecord): RunView {
  return {
    run_id: run.id,
    session_id: run.sessionId,
    status: run.status,
    created_at: run.createdAt,
    updated_at: run.updatedAt,
    ...(run.stopReason === undefined ? {} : { stop_reason: run.stopReason }),
    ...(run.text === undefined ? {} : { text: run.text }),
    ...(run.partial === undefined ? {} : { partial: run.partial }),
    ...(run.usage === undefined ? {} : { usage: run.usage }),
  };
}

/**
 * What a principal may do with a run, shared by the REST, SSE and WebSocket surfaces so every
 * one scopes access the same way: another user's run and a run outside a run token's scope read
 * as missing (404), never as forbidden, so their existence does not leak.
 */
export class RunAccess {
  readonly #assistant: Assistant;

  constructor(assistant: Assistant) {
    this.#assistant = assistant;
  }

  /** The run, when `principal` may see it; otherwise a 404. */
  async run(principal: Principal, runId: string, sessionId?: string): Promise<RunRecord> {
    const notFound = new HttpError(404, 'not_found', `Run ${runId} does not exist`);
    if (principal.runId !== undefined && principal.runId !== runId) throw notFound;
    const run = await this.#assistant.getRun(runId, { userId: principal.userId });
    if (run === undefined || (sessionId !== undefined && run.sessionId !== sessionId)) throw notFound;
    return run;
  }

  /**
   * The run's events after `afterSeq`, live until `final`; the caller checked access with
   * {@link run}. An `error` event of a storage or internal failure goes out in Steward's words:
   * its stored message may hold an adapter's text (a database error).
   */
  async *events(
    principal: Principal,
    runId: string,
    afterSeq: number,
    signal: AbortSignal,
  ): AsyncIterable<StewardEvent> {
    for await (const event of this.#assistant.streamRun(runId, {
      userId: principal.userId,
      afterSeq,
      signal,
    })) {
      yield event.type === 'error' && (event.code === 'storage_error' || event.code === 'internal_error')
        ? { ...event, message: runFailureMessages[event.code] }
        : event;
    }
  }

  async decide(principal: Principal, runId: string, decision: Decision): Promise<ApprovalView> {
    await this.run(principal, runId);
    const scope = { userId: principal.userId };
    // The call must belong to this run: a run token for X cannot decide a call of Y.
    const pending = await this.#assistant.storage.getApproval(decision.call_id, scope);
    if (pending === undefined || pending.runId !== runId)
      throw new HttpError(404, 'approval_not_found', `No approval ${decision.call_id} in run ${runId}`);
    const { approval } =
      decision.decision === 'approve'
        ? await this.#assistant.approve(decision.call_id, scope)
        : await this.#assistant.deny(decision.call_id, {
            ...scope,
            ...(decision.reason === undefined ? {} : { reason: decision.reason }),
          });
    return approvalView(approval);
  }

  /** The run's approvals, waiting and decided, oldest first. */
  async approvals(principal: Principal, runId: string): Promise<ApprovalView[]> {
    await this.run(principal, runId);
    const approvals = await this.#assistant.storage.listApprovals(runId, { userId: principal.userId });
    return approvals.map(approvalView);
  }

  /**
   * One approval by its call id, for a client that has the id of a card but not its run (a
   * page's form). A run token reaches only its run's calls; others read as missing.
   */
  async approval(principal: Principal, callId: string): Promise<ApprovalView> {
    const approval = await this.#assistant.storage.getApproval(callId, { userId: principal.userId });
    if (approval === undefined || (principal.runId !== undefined && approval.runId !== principal.runId))
      throw new HttpError(404, 'approval_not_found', `No approval ${callId}`);
    return approvalView(approval);
  }

  /**
   * The run's requests for input still waiting for an answer, oldest first (none once the run
   * ended), as stored: for a page that shows them without a live stream.
   */
  async inputs(principal: Principal, runId: string): Promise<InputRequiredEvent[]> {
    const run = await this.run(principal, runId);
    if (run.status !== 'running') return [];
    const open: InputRequiredEvent[] = [];
    let afterSeq = 0;
    // Paged, as every replay is: a long run's log is never read into memory at once.
    for (;;) {
      const page = await this.#assistant.getRunEvents(runId, {
        userId: principal.userId,
        afterSeq,
        limit: inputPageSize,
      });
      open.splice(0, open.length, ...openInputRequests([...open, ...page]));
      if (page.length < inputPageSize) return open;
      afterSeq = (page.at(-1) as StewardEvent).seq;
    }
  }

  /** Answers a request for input of the run: its owner (or the run's token) only. */
  async respondToInput(
    principal: Principal,
    runId: string,
    requestId: string,
    answer: InputResponse,
  ): Promise<InputView> {
    await this.run(principal, runId);
    await this.#assistant.respondToInput(runId, requestId, answer, { userId: principal.userId });
    return { run_id: runId, request_id: requestId, action: answer.action };
  }

  async stop(principal: Principal, runId: string): Promise<void> {
    await this.run(principal, runId);
    await this.#assistant.stop(runId, { userId: principal.userId });
  }
}
