import { EventEmitter } from 'eventemitter3';
import { type ConsentPolicy, createSideEffectConsentPolicy } from '../consent/consent-policy.ts';
import type { Coordinator, SessionLease } from '../coordination/coordinator.ts';
import { createInMemoryCoordinator } from '../coordination/in-memory-coordinator.ts';
import { StewardError } from '../errors/steward-error.ts';
import type { StewardEvent } from '../events/stream-event.ts';
import { parseOptions } from '../internal/parse-options.ts';
import type { Memory } from '../memory/memory.ts';
import type { LanguageModel } from '../model/language-model.ts';
import { defaultOpenAIPrices, type ModelPrice, priceFor } from '../quota/pricing.ts';
import type { TokenBudget } from '../quota/token-budget.ts';
import type { ToolSelector } from '../selection/tool-selector.ts';
import type { ApprovalRecord, AuditEntry } from '../storage/consent-records.ts';
import { createInMemoryStorage } from '../storage/in-memory-storage.ts';
import type { OwnerScope, RunRecord, Storage, StoredMessage } from '../storage/storage.ts';
import { createRunTracing, type RunTracing } from '../telemetry/run-tracing.ts';
import type { Tool } from '../tools/define-tool.ts';
import type { InputResponse } from '../tools/input-request.ts';
import { createLocalToolProvider } from '../tools/local-tool-provider.ts';
import { isToolProvider, type ToolProvider } from '../tools/tool-provider.ts';
import { type AdmissionContext, admit, lockForResume } from './admission.ts';
import { createDecisionSignals } from './approval-wait.ts';
import { decide, grantPermission, revokePermission } from './approvals.ts';
import {
  type AssistantLimits,
  type AssistantOptions,
  assistantOptionsSchema,
  decisionInputSchema,
  type ResolvedRunOptions,
  type RetryPolicy,
  type RunAdmission,
  type RunInput,
  runInputSchema,
} from './assistant-options.ts';
import { type AuthorizationCompletion, authorizationCompletionSchema } from './authorization-completion.ts';
import { defaultEventLogRetry, EventLog, type EventLogRetry } from './event-log.ts';
import { deliverElsewhere } from './input-delivery.ts';
import { InputWaiters, inputNotFound } from './input-waiters.ts';
import { PausableTimer } from './pausable-timer.ts';
import { estimateTokens } from './prompt-builder.ts';
import type { RunResult } from './run.ts';
import { Run } from './run.ts';
import { refuse } from './run-end.ts';
import { RunEventStream } from './run-event-stream.ts';
import { startRunHeartbeat } from './run-heartbeat.ts';
import { executeRun, type RunLoopContext } from './run-loop.ts';
import { readRunEvents, terminalStatuses } from './run-reader.ts';
import { recoverRun } from './run-recovery.ts';
import { continuePausedRun, loadPausedRun } from './run-resume.ts';

/** @internal What starting (or resuming) a run needs. */
interface LaunchInit {
  readonly runId: string;
  readonly sessionId: string;
  readonly userId: string;
  readonly input: string;
  readonly options: ResolvedRunOptions;
  readonly signal: AbortSignal | undefined;
  readonly firstSeq: number;
  /** New runs pass admission (rate limit, session lock); a resumed run was admitted already. */
  readonly admit: boolean;
  /** The session lock a resumed run took before it claimed the run. */
  readonly lease?: SessionLease;
  /** The run's epoch after a resumed run's claim: its writes are fenced by it. */
  readonly epoch?: number;
  /** A host's admission limits for this run, on top of the assistant's. */
  readonly admission?: RunAdmission | undefined;
}

/** A run whose loop lives in this process. */
interface LiveRun {
  readonly run: Run;
  readonly userId: string;
  /** Resolves true once the run's record is stored, false when the run ended before that. */
  readonly recorded: Promise<boolean>;
}

/** What an {@link Assistant} emits to observers (`assistant.on(...)`). */
export interface AssistantEventMap {
  /** Every event of every run, as it happens. */
  event: [event: StewardEvent];
  /**
   * Something degraded but did not fail the run: a retried model call, a provider that could not
   * list. Kept for compatibility; the `onWarning` option is the way every package reports these.
   */
  warning: [warning: StewardError];
}

/**
 * The assistant: one configured model, its tools and adapters. `run()` starts a run and returns
 * at once; the run streams {@link StewardEvent}s and keeps everything in `storage`.
 *
 * @example
 * ```ts
 * const assistant = new Assistant({ model: createOpenAIModel({ model: 'gpt-4.1-mini' }), tools: [weather] });
 * const run = assistant.run({ input: 'Weather in Paris?', userId: 'user-1' });
 * for await (const event of run) console.log(event.type);
 * ```
 */
export class Assistant extends EventEmitter<AssistantEventMap> {
  readonly model: LanguageModel;
  readonly storage: Storage;
  readonly limits: AssistantLimits;
  readonly #providers: readonly ToolProvider[];
  readonly #memory: Memory | undefined;
  readonly #consent: ConsentPolicy;
  readonly #toolSelector: ToolSelector | undefined;
  readonly #system: string;
  readonly #retry: RetryPolicy;
  readonly #countTokens: (text: string) => number;
  readonly #onEvent: ((event: StewardEvent) => void) | undefined;
  readonly #onWarning: ((warning: StewardError) => void) | undefined;
  readonly #decisions = createDecisionSignals();
  /** Tools' requests for input open in this process (they live where their call runs). */
  readonly #inputs = new InputWaiters();
  /** Runs whose loop lives in this process, so a decision or a stop here reaches them directly. */
  readonly #live = new Map<string, LiveRun>();
  readonly #coordinator: Coordinator;
  readonly #rateLimit: { runs: number; windowMs: number } | undefined;
  readonly #maxActiveRuns: number | undefined;
  /** Names this instance as a session lock's owner. */
  readonly #instanceId: string;
  readonly #now: () => number;
  readonly #generateId: () => string;
  readonly #eventLogRetry: EventLogRetry;
  readonly #tracing: RunTracing;
  readonly #budget: TokenBudget | undefined;
  readonly #price: ModelPrice | undefined;
  #unwatchStops: (() => void) | undefined;
  #unwatchInputs: (() => void) | undefined;

  constructor(options: AssistantOptions) {
    super();
    const config = parseOptions(assistantOptionsSchema, options, 'new Assistant');
    const localTools = config.tools.filter((item): item is Tool => !isToolProvider(item));
    const providers = config.tools.filter(isToolProvider);
    this.#providers =
      localTools.length === 0 ? providers : [createLocalToolProvider(localTools), ...providers];
    this.model = config.model;
    this.#now = config._internal?.now ?? Date.now;
    // The defaults keep time by the assistant's clock, so an injected clock is the only one.
    this.storage = config.storage ?? createInMemoryStorage({ _internal: { now: this.#now } });
    this.limits = config.limits;
    this.#memory = config.memory;
    this.#consent = config.consent ?? createSideEffectConsentPolicy();
    this.#toolSelector = config.toolSelector;
    this.#system = config.system;
    this.#retry = config.retry;
    this.#countTokens = config.countTokens ?? estimateTokens;
    this.#onEvent = config.onEvent;
    this.#onWarning = config.onWarning;
    this.#coordinator = config.coordinator ?? createInMemoryCoordinator({ _internal: { now: this.#now } });
    this.#rateLimit = config.rateLimit;
    this.#maxActiveRuns = config.maxActiveRuns;
    this.#generateId = config._internal?.generateId ?? (() => crypto.randomUUID());
    this.#eventLogRetry = config._internal?.eventLogRetry ?? defaultEventLogRetry;
    this.#instanceId = this.#generateId();
    this.#tracing = createRunTracing(config.telemetry);
    this.#budget = config.budget;
    this.#price =
      config.prices === false
        ? undefined
        : priceFor(config.prices ?? defaultOpenAIPrices, this.model.modelId);
  }

  /**
   * Starts a run. Throws `invalid_input` at once for bad input; every later failure (model,
   * tools, storage) is reported as `error` and `final` events, never thrown from the iterator.
   */
  run(input: RunInput): Run {
    return this.#start(input, 'assistant.run').run;
  }

  /**
   * Starts a run and resolves once it is admitted and stored, so its id can be handed out (an
   * HTTP `respond`). Rejects with the reason it was refused: `session_busy` while another run of
   * the session is active, `rate_limited` (`details.retryAfterMs`) when the user started too many.
   */
  async start(input: RunInput): Promise<Run> {
    const { run, recorded } = this.#start(input, 'assistant.start');
    if (await recorded) return run;
    // Refused, or failed before it was stored: nobody could read it, so the caller gets the reason.
    const { error } = await run.result;
    throw error ?? new StewardError('internal_error', `Run ${run.id} ended before it was stored`);
  }

  #start(input: RunInput, what: string): LiveRun {
    const parsed = parseOptions(runInputSchema, input, what, 'invalid_input');
    return this.#launch(
      {
        runId: this.#generateId(),
        sessionId: parsed.sessionId ?? this.#generateId(),
        userId: parsed.userId,
        input: parsed.input,
        options: parsed.options ?? {},
        signal: parsed.signal,
        firstSeq: 1,
        admit: true,
        admission: parsed.admission,
      },
      executeRun,
    );
  }

  /**
   * Stops a run of `scope.userId`, wherever it runs: here at once, on another instance through
   * the coordinator. The partial answer is kept and `final` says `aborted`. A run that already
   * ended stays as it is. Rejects with `not_found` when the run does not exist for this user.
   */
  async stop(runId: string, scope: OwnerScope): Promise<void> {
    parseOptions(decisionInputSchema, { callId: runId, scope }, 'assistant.stop', 'invalid_input');
    const live = this.#live.get(runId);
    if (live !== undefined && live.userId === scope.userId) {
      live.run.abort(stopReason());
      return;
    }
    const record = await this.storage.getRun(runId, scope);
    if (record === undefined) throw new StewardError('not_found', `Run ${runId} does not exist`);
    if (terminalStatuses.has(record.status)) return;
    await this.#coordinator.requestStop(runId);
    // A paused run whose instance died has nobody to hear the stop (no heartbeat for three
    // beats): end it here, as aborted, so a later approval cannot resume it.
    const stale = Date.parse(record.updatedAt) < this.#now() - this.limits.heartbeatMs * 3;
    if (record.status === 'awaiting_approval' && stale)
      await recoverRun(this.storage, record, { stopped: true, now: this.#now });
  }

  /**
   * A run's events after `afterSeq` (default 0: all of them), each exactly once and in `seq`
   * order, live until `final`: from this process when the run lives here, from the coordinator's
   * tail (or by polling storage) when another instance runs it, from storage when it ended.
   * Ends early when `signal` aborts. Rejects with `not_found` when the run does not exist for
   * this user, so another user's run cannot be told from a missing one.
   */
  streamRun(
    runId: string,
    scope: OwnerScope & { afterSeq?: number; signal?: AbortSignal },
  ): AsyncIterable<StewardEvent> {
    return { [Symbol.asyncIterator]: () => this.#stream(runId, scope) };
  }

  #stream(
    runId: string,
    scope: OwnerScope & { afterSeq?: number; signal?: AbortSignal },
  ): AsyncGenerator<StewardEvent, void, undefined> {
    const live = this.#live.get(runId);
    return readRunEvents(
      {
        storage: this.storage,
        coordinator: this.#coordinator,
        limits: this.limits,
        local: live !== undefined && live.userId === scope.userId ? live : undefined,
      },
      runId,
      scope,
    );
  }

  /** Stops watching the coordinator for stop requests and answers. Runs under way go on. */
  close(): void {
    this.#unwatchStops?.();
    this.#unwatchStops = undefined;
    this.#unwatchInputs?.();
    this.#unwatchInputs = undefined;
  }

  /**
   * Answers a tool's request for input (an `input_required` event of `runId`): `accept` with the
   * form's `content`, `decline` or `cancel`. Only the run's owner may answer, once. The content is
   * checked against the request's form (its defaults filled in) before the tool gets it: a bad
   * answer rejects with `invalid_input` (`details.issues`) and the request stays open. Works on
   * any instance: the request lives where its tool call runs, and the coordinator carries the
   * answer there. Rejects with `not_found` for a run this user does not have, `input_not_found`
   * for an unknown request, `input_conflict` for one already answered, cancelled or timed out.
   *
   * @example
   * ```ts
   * for await (const event of run) {
   *   if (event.type === 'input_required')
   *     await assistant.respondToInput(run.id, event.request_id, { action: 'accept', content: { floor: 3 } }, { userId });
   * }
   * ```
   */
  async respondToInput(
    runId: string,
    requestId: string,
    response: InputResponse,
    scope: OwnerScope,
  ): Promise<void> {
    const where = 'assistant.respondToInput';
    parseOptions(decisionInputSchema, { callId: runId, scope }, where, 'invalid_input');
    parseOptions(decisionInputSchema.shape.callId, requestId, where, 'invalid_input');
    const live = this.#live.get(runId);
    if (live !== undefined) {
      if (live.userId !== scope.userId) throw new StewardError('not_found', `Run ${runId} does not exist`);
      // A run's requests are opened by its loop, which runs here: absent here is absent.
      if (this.#inputs.answer(runId, requestId, scope.userId, response) === 'absent')
        throw inputNotFound(runId, requestId);
      return;
    }
    await deliverElsewhere(
      { storage: this.storage, coordinator: this.#coordinator },
      runId,
      requestId,
      response,
      scope,
    );
  }

  /**
   * Approves a side-effect call that waits for the user. Only the run's owner may decide, once;
   * an expired approval is refused. The paused run goes on: here if it runs in this process,
   * otherwise it is resumed here and returned as `run`.
   */
  async approve(callId: string, scope: OwnerScope): Promise<{ approval: ApprovalRecord; run?: Run }> {
    parseOptions(decisionInputSchema, { callId, scope }, 'assistant.approve', 'invalid_input');
    const approval = await decide(this.storage, callId, scope, { status: 'approved' }, this.#now);
    return { approval, ...(await this.#continueAfter(approval, scope)) };
  }

  /** Denies a waiting call: the model is told, and answers without it. Same rules as {@link approve}. */
  async deny(
    callId: string,
    scope: OwnerScope & { reason?: string },
  ): Promise<{ approval: ApprovalRecord; run?: Run }> {
    parseOptions(decisionInputSchema, { callId, scope }, 'assistant.deny', 'invalid_input');
    const approval = await decide(
      this.storage,
      callId,
      scope,
      { status: 'denied', ...(scope.reason === undefined ? {} : { reason: scope.reason }) },
      this.#now,
    );
    return { approval, ...(await this.#continueAfter(approval, scope)) };
  }

  /**
   * Ends a call's wait for the user to connect its server (an `authorization_required` event),
   * typically from the OAuth callback: `connected` runs the call, `declined` tells the model
   * (`tool_authorization_declined`). Same rules as {@link approve}: the run's user only, once
   * (`approval_conflict` after that), before it expires (`approval_expired`; `approval_not_found`
   * for a call that does not wait for one). Works on any instance.
   */
  async completeAuthorization(
    input: AuthorizationCompletion,
  ): Promise<{ approval: ApprovalRecord; run?: Run }> {
    const { runId, callId, userId, outcome } = parseOptions(
      authorizationCompletionSchema,
      input,
      'assistant.completeAuthorization',
      'invalid_input',
    );
    const status = outcome === 'connected' ? 'approved' : 'denied';
    const approval = await decide(
      this.storage,
      callId,
      { userId, runId },
      { status },
      this.#now,
      'authorization',
    );
    return { approval, ...(await this.#continueAfter(approval, { userId })) };
  }

  /**
   * Resumes a run paused for approval once every waiting call is decided (or expired), e.g.
   * after a restart. Resolves `undefined` when there is nothing to resume: the run is not paused,
   * a call still waits, or another instance resumed it first. Events continue the stored `seq`.
   */
  async resume(runId: string, scope: OwnerScope): Promise<Run | undefined> {
    parseOptions(decisionInputSchema, { callId: runId, scope }, 'assistant.resume', 'invalid_input');
    const snapshot = await loadPausedRun(this.storage, runId, scope, this.limits.historyMessages, this.#now);
    if (snapshot === undefined) return undefined;
    // The resumed run holds the session like any run: wait for a paused owner that is alive to
    // go on itself (then this resolves undefined), or for a dead owner's lock to expire.
    const admitted = await lockForResume(this.#admission(), runId, snapshot.sessionId, scope.userId);
    if (admitted === undefined) return undefined;
    const claimed = await this.storage.transitionRun(runId, 'awaiting_approval', 'running', snapshot.epoch);
    if (claimed === undefined) {
      await admitted.lease?.release().catch(() => {});
      return undefined;
    }
    return this.#launch(
      {
        runId,
        sessionId: snapshot.sessionId,
        userId: scope.userId,
        input: snapshot.input,
        options: snapshot.options,
        signal: undefined,
        firstSeq: snapshot.nextSeq,
        admit: false,
        epoch: claimed,
        ...(admitted.lease === undefined ? {} : { lease: admitted.lease }),
      },
      (context) => continuePausedRun(context, snapshot),
    ).run;
  }

  /**
   * Ends the runs whose instance died: still `running`, but with no heartbeat for
   * `staleAfterMs` (default three heartbeats). Each gets its partial answer kept and `error`
   * (`run_interrupted`) and `final` events appended, so whoever streams it sees it end. Safe to
   * call from several instances at once: each run is recovered once. Resolves the run ids.
   */
  async recoverInterruptedRuns(options: { staleAfterMs?: number } = {}): Promise<string[]> {
    const staleAfterMs = options.staleAfterMs ?? this.limits.heartbeatMs * 3;
    const stale = await this.storage.listStaleRuns(new Date(this.#now() - staleAfterMs).toISOString());
    const recovered: string[] = [];
    for (const record of stale) {
      if (this.#live.has(record.id)) continue; // Ours and alive, only slow to beat.
      if (await recoverRun(this.storage, record, { now: this.#now })) recovered.push(record.id);
    }
    return recovered;
  }

  /** Lets `userId` run `toolName` without asking: always, or in one session. Revocable. */
  allowTool(scope: OwnerScope & { toolName: string; sessionId?: string }): Promise<void> {
    return grantPermission(this.storage, scope, this.#now);
  }

  /** Withdraws a permission given with {@link allowTool}; resolves whether one existed. */
  revokeTool(scope: OwnerScope & { toolName: string; sessionId?: string }): Promise<boolean> {
    return revokePermission(this.storage, scope, this.#now);
  }

  /** The audit log of a user (optionally one run): approvals, decisions, executions, permissions. */
  getAudit(scope: OwnerScope & { runId?: string }): Promise<readonly AuditEntry[]> {
    return this.storage.listAudit(scope);
  }

  async #continueAfter(approval: ApprovalRecord, scope: OwnerScope): Promise<{ run?: Run }> {
    const live = this.#live.get(approval.runId);
    if (live !== undefined) {
      this.#decisions.notify(approval.runId);
      return { run: live.run };
    }
    const resumed = await this.resume(approval.runId, scope);
    return resumed === undefined ? {} : { run: resumed };
  }

  #launch(init: LaunchInit, execute: (context: RunLoopContext) => Promise<RunResult>): LiveRun {
    const { runId } = init;
    const controller = new AbortController();
    this.#unwatchStops ??= this.#coordinator.watchStops((stopped) =>
      this.#live.get(stopped)?.run.abort(stopReason()),
    );
    let lease: SessionLease | undefined = init.lease;
    // Locks live three heartbeats: a dead instance's lock frees itself, a live one keeps extending.
    const lockTtlMs = this.limits.heartbeatMs * 3;
    let markRecorded: (stored: boolean) => void = () => {};
    const recorded = new Promise<boolean>((resolve) => {
      markRecorded = resolve;
    });
    this.#unwatchInputs ??= this.#coordinator.watchInputs?.((run, request, response) => {
      this.#inputs.deliver(run, request, response);
    });
    // The run timeout stops while the run waits for the user, and goes on with what was left.
    const timer = new PausableTimer(
      this.limits.runTimeoutMs,
      () =>
        controller.abort(new StewardError('run_timeout', `The run exceeded ${this.limits.runTimeoutMs} ms`)),
      this.#now,
    );
    // The run's fencing token: its epoch as this loop holds it; claims move it on.
    const fence = { epoch: init.epoch ?? 0 };
    const stopHeartbeat = startRunHeartbeat(
      {
        runId,
        storage: this.storage,
        coordinator: this.#coordinator,
        heartbeatMs: this.limits.heartbeatMs,
        lockTtlMs,
        fence,
        lease: () => lease,
        abort: (reason) => controller.abort(reason),
      },
      stopReason,
    );
    const forwardAbort = () => controller.abort(init.signal?.reason);
    if (init.signal?.aborted) forwardAbort();
    else init.signal?.addEventListener('abort', forwardAbort, { once: true });

    const warn = (message: string, cause?: unknown) => {
      const warning = new StewardError('internal_error', message, { cause, details: { runId } });
      try {
        this.#onWarning?.(warning);
      } catch {
        // A logger that throws must not break the run, nor keep the warning from listeners.
      }
      try {
        this.emit('warning', warning);
      } catch {
        // A warning listener that throws must not break the run it is told about.
      }
    };
    // Events that cannot be stored end the run: no reader anywhere could see the rest of it.
    const eventLog = new EventLog(
      this.storage,
      runId,
      (error) => {
        warn('Storing run events failed after retries; the run ends', error);
        controller.abort(error);
      },
      this.#eventLogRetry,
      fence,
    );
    const events = new RunEventStream(
      runId,
      [(event) => eventLog.append(event), (event) => this.#notify(event, warn)],
      init.firstSeq,
      this.#now,
    );
    if (init.firstSeq > 1) eventLog.enable();
    const context: RunLoopContext = {
      runId,
      sessionId: init.sessionId,
      userId: init.userId,
      input: init.input,
      options: init.options,
      model: this.model,
      providers: this.#providers,
      storage: this.storage,
      memory: this.#memory,
      consent: this.#consent,
      toolSelector: this.#toolSelector,
      system: this.#system,
      limits: this.limits,
      retry: this.#retry,
      countTokens: this.#countTokens,
      events,
      eventLog,
      fence,
      signal: controller.signal,
      warn,
      tracing: this.#tracing,
      budget: this.#budget,
      price: this.#price,
      now: this.#now,
      decisions: this.#decisions,
      holdTimeout: () => timer.hold(),
      requestInput: (call, request) =>
        this.#inputs.open(
          {
            runId,
            userId: init.userId,
            emit: (event) => events.emit(event),
            holdTimeout: () => timer.hold(),
            timeoutMs: this.limits.inputTimeoutMs,
            now: this.#now,
            generateId: this.#generateId,
          },
          call,
          request,
        ),
      onRecorded: () => markRecorded(true),
      releaseSession: async () => {
        const held = lease;
        lease = undefined; // The heartbeat stops extending it.
        await held?.release().catch(() => {}); // Unreleased, it expires after lockTtlMs.
      },
    };
    if (!init.admit) markRecorded(true);
    const result = (init.admit ? admit(this.#admission(), init, lockTtlMs) : Promise.resolve(undefined))
      .then(
        (acquired) => {
          lease = acquired ?? lease;
          return this.#tracing.run(context, execute);
        },
        (refusal: unknown) => refuse(context, refusal),
      )
      .finally(() => {
        markRecorded(false); // No-op when it was recorded.
        timer.clear();
        stopHeartbeat();
        init.signal?.removeEventListener('abort', forwardAbort);
        void context.releaseSession(); // A hand-off or a failure before the end still frees it.
        if (this.#live.get(runId) === live) {
          this.#live.delete(runId);
          this.#inputs.forgetRun(runId);
        }
      });
    const run: Run = new Run({ id: runId, sessionId: init.sessionId, events, controller, result });
    const live: LiveRun = { run, userId: init.userId, recorded };
    this.#live.set(runId, live);
    return live;
  }

  #admission(): AdmissionContext {
    return {
      storage: this.storage,
      coordinator: this.#coordinator,
      limits: this.limits,
      rateLimit: this.#rateLimit,
      maxActiveRuns: this.#maxActiveRuns,
      instanceId: this.#instanceId,
      now: this.#now,
      budget: this.#budget,
    };
  }

  /** The session's messages, oldest first, tool outputs included. Another user's session reads as empty. */
  getHistory(sessionId: string, scope: OwnerScope & { limit?: number }): Promise<readonly StoredMessage[]> {
    return this.storage.listMessages(sessionId, scope);
  }

  /** A run's record, or `undefined` when it does not exist for this user. */
  getRun(runId: string, scope: OwnerScope): Promise<RunRecord | undefined> {
    return this.storage.getRun(runId, scope);
  }

  /**
   * A stored run's events after `afterSeq`, at most `limit` of them (a page) when given. For a
   * replay of any length, prefer {@link streamRun}, which pages by itself.
   */
  getRunEvents(
    runId: string,
    scope: OwnerScope & { afterSeq?: number; limit?: number },
  ): Promise<readonly StewardEvent[]> {
    return this.storage.listEvents(runId, scope);
  }

  #notify(event: StewardEvent, warn: (message: string, cause?: unknown) => void): void {
    // An observer that throws must not break the run it observes, nor starve the others.
    if (this.#onEvent !== undefined) {
      try {
        this.#onEvent(event);
      } catch (error) {
        warn(`The onEvent observer threw on ${event.type}`, error);
      }
    }
    try {
      this.emit('event', event);
    } catch (error) {
      warn(`An event listener threw on ${event.type}`, error);
    }
  }
}

function stopReason(): StewardError {
  return new StewardError('run_aborted', 'The run was stopped by the user');
}
