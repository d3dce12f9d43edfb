import { EventEmitter } from 'eventemitter3';
import { type ConsentPolicy, createSideEffectConsentPolicy } from '../consent/consent-policy.ts';
import { StewardError } from '../errors/steward-error.ts';
import type { StewardEvent } from '../events/stream-event.ts';
import { parseOptions } from '../internal/parse-options.ts';
import type { Memory } from '../memory/memory.ts';
import type { LanguageModel } from '../model/language-model.ts';
import type { ToolSelector } from '../selection/tool-selector.ts';
import { createInMemoryStorage } from '../storage/in-memory-storage.ts';
import type { OwnerScope, RunRecord, Storage, StoredMessage } from '../storage/storage.ts';
import type { Tool } from '../tools/define-tool.ts';
import { createLocalToolProvider } from '../tools/local-tool-provider.ts';
import { isToolProvider, type ToolProvider } from '../tools/tool-provider.ts';
import {
  type AssistantLimits,
  type AssistantOptions,
  assistantOptionsSchema,
  type RetryPolicy,
  type RunInput,
  runInputSchema,
} from './assistant-options.ts';
import { EventLog } from './event-log.ts';
import { estimateTokens } from './prompt-builder.ts';
import { Run } from './run.ts';
import { RunEventStream } from './run-event-stream.ts';
import { executeRun } from './run-loop.ts';

/** What an {@link Assistant} emits to observers (`assistant.on(...)`). */
export interface AssistantEventMap {
  /** Every event of every run, as it happens. */
  event: [event: StewardEvent];
  /** Something degraded but did not fail the run: a retried model call, a provider that could not list. */
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

  constructor(options: AssistantOptions) {
    super();
    const config = parseOptions(assistantOptionsSchema, options, 'new Assistant');
    const localTools = config.tools.filter((item): item is Tool => !isToolProvider(item));
    const providers = config.tools.filter(isToolProvider);
    this.#providers =
      localTools.length === 0 ? providers : [createLocalToolProvider(localTools), ...providers];
    this.model = config.model;
    this.storage = config.storage ?? createInMemoryStorage();
    this.limits = config.limits;
    this.#memory = config.memory;
    this.#consent = config.consent ?? createSideEffectConsentPolicy();
    this.#toolSelector = config.toolSelector;
    this.#system = config.system;
    this.#retry = config.retry;
    this.#countTokens = config.countTokens ?? estimateTokens;
    this.#onEvent = config.onEvent;
  }

  /**
   * Starts a run. Throws `invalid_input` at once for bad input; every later failure (model,
   * tools, storage) is reported as `error` and `final` events, never thrown from the iterator.
   */
  run(input: RunInput): Run {
    const parsed = parseOptions(runInputSchema, input, 'assistant.run', 'invalid_input');
    const runId = crypto.randomUUID();
    const sessionId = parsed.sessionId ?? crypto.randomUUID();
    const controller = new AbortController();
    const timeout = setTimeout(
      () =>
        controller.abort(new StewardError('run_timeout', `The run exceeded ${this.limits.runTimeoutMs} ms`)),
      this.limits.runTimeoutMs,
    );
    const forwardAbort = () => controller.abort(parsed.signal?.reason);
    if (parsed.signal?.aborted) forwardAbort();
    else parsed.signal?.addEventListener('abort', forwardAbort, { once: true });

    const warn = (message: string, cause?: unknown) => {
      try {
        this.emit('warning', new StewardError('internal_error', message, { cause, details: { runId } }));
      } catch {
        // A warning listener that throws must not break the run it is told about.
      }
    };
    const eventLog = new EventLog(this.storage, runId, (error) =>
      warn('Storing run events failed; later events are not stored', error),
    );
    const events = new RunEventStream(runId, [
      (event) => eventLog.append(event),
      (event) => this.#notify(event, warn),
    ]);
    const result = executeRun({
      runId,
      sessionId,
      userId: parsed.userId,
      input: parsed.input,
      options: parsed.options ?? {},
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
      signal: controller.signal,
      warn,
    }).finally(() => {
      clearTimeout(timeout);
      parsed.signal?.removeEventListener('abort', forwardAbort);
    });
    return new Run({ id: runId, sessionId, events, controller, result });
  }

  /** The session's messages, oldest first, tool outputs included. Another user's session reads as empty. */
  getHistory(sessionId: string, scope: OwnerScope & { limit?: number }): Promise<readonly StoredMessage[]> {
    return this.storage.listMessages(sessionId, scope);
  }

  /** A run's record, or `undefined` when it does not exist for this user. */
  getRun(runId: string, scope: OwnerScope): Promise<RunRecord | undefined> {
    return this.storage.getRun(runId, scope);
  }

  /** A stored run's events after `afterSeq`, for replay. */
  getRunEvents(runId: string, scope: OwnerScope & { afterSeq?: number }): Promise<readonly StewardEvent[]> {
    return this.storage.listEvents(runId, scope);
  }

  #notify(event: StewardEvent, warn: (message: string, cause?: unknown) => void): void {
    // An observer that throws must not break the run it observes.
    try {
      this.#onEvent?.(event);
      this.emit('event', event);
    } catch (error) {
      warn(`An event observer threw on ${event.type}`, error);
    }
  }
}
