import { StewardError } from '../errors/steward-error.ts';
import type { StewardEventInput } from '../events/stream-event.ts';
import { parseOptions } from '../internal/parse-options.ts';
import { toStorableValue } from '../internal/storable-text.ts';
import {
  checkInputContent,
  type InputRequest,
  type InputResponse,
  inputRequestSchema,
  inputResponseSchema,
  type RequestedSchema,
} from '../tools/input-request.ts';

/** @internal The tool call a request for input belongs to. */
export interface InputCall {
  readonly callId: string;
  readonly toolSlug: string;
  /** Who asks, unless the request names its server: the tool's provider. */
  readonly provider: string;
  /** Aborts when the call ends or the run stops: a request still open is cancelled, a later one at once. */
  readonly signal: AbortSignal;
  /** Stops the call's own timeout while the user is asked. */
  readonly holdTimeout: () => () => void;
}

/** @internal What opening a request needs from its run. */
export interface InputRun {
  readonly runId: string;
  readonly userId: string;
  readonly emit: (event: StewardEventInput) => void;
  /** Stops the run's timeout while the user is asked. */
  readonly holdTimeout: () => () => void;
  readonly timeoutMs: number;
  readonly now: () => number;
  readonly generateId: () => string;
}

/** @internal The form or link a request shows: what an answer is checked against. */
export interface InputShape {
  readonly mode: 'form' | 'url';
  readonly requestedSchema?: RequestedSchema | undefined;
}

interface Waiter extends InputShape {
  readonly runId: string;
  readonly userId: string;
  settle(response: InputResponse): void;
}

/**
 * @internal Checks an answer against the request it answers: its shape first, then a form's
 * content against the form (defaults filled in), so the tool gets exactly what it asked for.
 * Throws `invalid_input` with `details.issues`.
 */
export function checkAnswer(shape: InputShape, response: unknown, where: string): InputResponse {
  const parsed = parseOptions(inputResponseSchema, response, where, 'invalid_input');
  if (parsed.action !== 'accept') return { action: parsed.action };
  if (shape.mode === 'url') {
    if (parsed.content !== undefined)
      throw invalidAnswer(where, [
        { path: 'content', message: 'a link (url mode) is accepted without content' },
      ]);
    return { action: 'accept' };
  }
  const checked = checkInputContent(shape.requestedSchema ?? { type: 'object', properties: {} }, {
    ...parsed.content,
  });
  if ('issues' in checked) throw invalidAnswer(where, checked.issues);
  return { action: 'accept', content: checked.content };
}

function invalidAnswer(where: string, issues: readonly { path: string; message: string }[]): StewardError {
  const summary = issues.map((issue) => `content.${issue.path}: ${issue.message}`).join('; ');
  return new StewardError('invalid_input', `${where}: the answer does not fit the form: ${summary}`, {
    details: { issues: issues.map((issue) => ({ ...issue, path: `content.${issue.path}` })) },
  });
}

/**
 * @internal The requests for input open in this process, by request id. A request lives only
 * where its tool call runs (an MCP request is open on one connection), so answers given on
 * another instance reach it through the coordinator. Each request is answered once.
 */
export class InputWaiters {
  readonly #open = new Map<string, Waiter>();
  /** Requests of runs still live here that were answered, cancelled or timed out: a second answer is a conflict. */
  readonly #closed = new Map<string, Map<string, string>>();

  /**
   * Emits `input_required`, holds the run's and the call's timeouts, and resolves with the
   * answer: the user's, or `cancel` after `timeoutMs` or when the call's signal aborts. Rejects
   * with `invalid_input` for a request that cannot be shown.
   */
  async open(run: InputRun, call: InputCall, request: InputRequest): Promise<InputResponse> {
    const parsed = parseOptions(
      inputRequestSchema,
      request,
      `requestInput (${call.toolSlug})`,
      'invalid_input',
    );
    if (call.signal.aborted) return { action: 'cancel' };
    const requestId = run.generateId();
    const expiresAt = new Date(run.now() + run.timeoutMs).toISOString();
    run.emit({
      type: 'input_required',
      request_id: requestId,
      call_id: call.callId,
      tool_slug: call.toolSlug,
      server: parsed.server ?? call.provider,
      // A server's words: stored with the run's events, so text no storage keeps is replaced.
      ...toStorableValue(
        parsed.mode === 'form'
          ? { message: parsed.message, mode: 'form' as const, requested_schema: parsed.requestedSchema }
          : { message: parsed.message, mode: 'url' as const, url: parsed.url },
      ),
      expires_at: expiresAt,
    });
    const releaseRun = run.holdTimeout();
    const releaseCall = call.holdTimeout();
    try {
      return await new Promise<InputResponse>((resolve) => {
        const settle = (response: InputResponse) => {
          if (this.#open.get(requestId) !== waiter) return;
          this.#open.delete(requestId);
          clearTimeout(timer);
          call.signal.removeEventListener('abort', onAbort);
          const closed = this.#closed.get(run.runId) ?? new Map<string, string>();
          closed.set(requestId, run.userId);
          this.#closed.set(run.runId, closed);
          try {
            run.emit({
              type: 'input_resolved',
              request_id: requestId,
              call_id: call.callId,
              action: response.action,
            });
          } catch {
            // The run already ended (its `final` is out): the answer still reaches the tool.
          }
          resolve(response);
        };
        const waiter: Waiter = {
          runId: run.runId,
          userId: run.userId,
          mode: parsed.mode,
          requestedSchema: parsed.mode === 'form' ? parsed.requestedSchema : undefined,
          settle,
        };
        const onAbort = () => settle({ action: 'cancel' });
        const timer = setTimeout(onAbort, run.timeoutMs);
        this.#open.set(requestId, waiter);
        call.signal.addEventListener('abort', onAbort, { once: true });
      });
    } finally {
      releaseCall();
      releaseRun();
    }
  }

  /**
   * Answers a request open here: `answered`, or `absent` when it is not open here (nor closed in
   * a run still live here). Throws `input_not_found` for another user's request, `input_conflict`
   * for one answered before, and `invalid_input` (the request stays open) for a bad answer.
   */
  answer(runId: string, requestId: string, userId: string, response: unknown): 'answered' | 'absent' {
    const waiter = this.#open.get(requestId);
    if (waiter === undefined || waiter.runId !== runId) {
      const closedFor = this.#closed.get(runId)?.get(requestId);
      if (closedFor === undefined) return 'absent';
      if (closedFor !== userId) throw inputNotFound(runId, requestId);
      throw new StewardError(
        'input_conflict',
        `Input request ${requestId} was already answered or cancelled`,
      );
    }
    if (waiter.userId !== userId) throw inputNotFound(runId, requestId);
    waiter.settle(checkAnswer(waiter, response, `respondToInput(${requestId})`));
    return 'answered';
  }

  /**
   * Settles a request open here with an answer another instance checked and sent on. Resolves
   * false when it is not open here (every instance hears every delivery) or the answer is bad.
   */
  deliver(runId: string, requestId: string, response: unknown): boolean {
    const waiter = this.#open.get(requestId);
    if (waiter === undefined || waiter.runId !== runId) return false;
    try {
      waiter.settle(checkAnswer(waiter, response, `respondToInput(${requestId})`));
      return true;
    } catch {
      return false; // Checked by the sender; one that is bad here stays open for a good one.
    }
  }

  /** Cancels what is still open of a run that ended, and forgets its answered requests. */
  forgetRun(runId: string): void {
    for (const waiter of [...this.#open.values()])
      if (waiter.runId === runId) waiter.settle({ action: 'cancel' });
    this.#closed.delete(runId);
  }
}

/** @internal */
export function inputNotFound(runId: string, requestId: string): StewardError {
  return new StewardError('input_not_found', `No input request ${requestId} in run ${runId}`);
}
