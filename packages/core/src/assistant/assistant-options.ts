import { z } from 'zod';
import type { ConsentPolicy } from '../consent/consent-policy.ts';
import type { Coordinator } from '../coordination/coordinator.ts';
import type { StewardError } from '../errors/steward-error.ts';
import type { StewardEvent } from '../events/stream-event.ts';
import { safeIdSchema, safeTextSchema } from '../internal/safe-text.ts';
import type { Memory } from '../memory/memory.ts';
import type { LanguageModel } from '../model/language-model.ts';
import { type PriceTable, priceTableSchema } from '../quota/pricing.ts';
import type { TokenBudget } from '../quota/token-budget.ts';
import type { ToolSelector } from '../selection/tool-selector.ts';
import type { Storage } from '../storage/storage.ts';
import { type TelemetryOptions, telemetryOptionsSchema } from '../telemetry/telemetry-options.ts';
import type { Tool } from '../tools/define-tool.ts';
import type { ToolProvider } from '../tools/tool-provider.ts';

const positiveInt = z.number().int().positive();
// setTimeout fires at once for delays above 2^31-1 ms, so longer timeouts are refused.
const timeoutMs = positiveInt.max(2_147_483_647);
const isFunction = (value: unknown) => typeof value === 'function';
const hasMethods =
  (...names: string[]) =>
  (value: unknown) =>
    typeof value === 'object' &&
    value !== null &&
    names.every((name) => typeof (value as Record<string, unknown>)[name] === 'function');

/** @internal */
export const limitsSchema = z
  .object({
    /** Model calls per run; a run still asking for tools after this ends with `max_steps`. */
    maxSteps: positiveInt.max(100).default(8),
    /** Passed to the model as its output limit; a run option may lower it. */
    maxOutputTokens: positiveInt.optional(),
    /** The whole run, tools included. */
    runTimeoutMs: timeoutMs.default(300_000),
    /** One tool call. */
    toolTimeoutMs: timeoutMs.default(60_000),
    /** The model stream may go this long without a chunk before the run ends with a partial answer. */
    stallTimeoutMs: timeoutMs.default(30_000),
    /** How many earlier messages of the session the prompt may carry. */
    historyMessages: z.number().int().nonnegative().default(20),
    /** Token budget of those earlier messages; the oldest are dropped first. */
    historyTokens: positiveInt.default(8_000),
    /** Memories retrieved per run when a memory adapter is configured. */
    memoryResults: z.number().int().nonnegative().default(5),
    /** Tool output longer than this is truncated before the model reads it. */
    maxToolResultChars: positiveInt.default(20_000),
    /** How long a side-effect call waits for the user's decision. */
    approvalTtlMs: timeoutMs.default(900_000),
    /** How often a paused run checks storage for decisions made on other instances. */
    approvalPollMs: timeoutMs.default(2_000),
    /** How long a tool's request for input (MCP elicitation) waits for the user before it is cancelled. */
    inputTimeoutMs: timeoutMs.default(600_000),
    /** How often a live run touches its record, so other instances can tell it from a dead one. */
    heartbeatMs: timeoutMs.default(5_000),
    /** One active run per session: a second run in a busy session is refused with `session_busy`. */
    exclusiveSessions: z.boolean().default(true),
    /** How often `streamRun` checks storage for new events of a run another instance runs (without `coordinator.tailEvents`). */
    streamPollMs: timeoutMs.default(250),
  })
  .strict();

/** @internal */
export const retrySchema = z
  .object({
    /** Retries of a failed model call (429, 5xx, network) before any output arrived. */
    retries: z.number().int().nonnegative().max(10).default(3),
    minTimeoutMs: z.number().int().nonnegative().default(500),
    maxTimeoutMs: timeoutMs.default(8_000),
  })
  .strict();

const rateLimitSchema = z.object({ runs: positiveInt, windowMs: timeoutMs }).strict();

/** @internal */
export const assistantOptionsSchema = z
  .object({
    model: z.custom<LanguageModel>(
      hasMethods('doStream'),
      'must be a LanguageModel (e.g. createOpenAIModel())',
    ),
    tools: z
      .array(
        z.custom<Tool | ToolProvider>(
          (value) => hasMethods('execute')(value) || hasMethods('listTools', 'callTool')(value),
          'must be a defineTool() tool or a ToolProvider',
        ),
      )
      .readonly()
      .default([]),
    system: z.string().default('You are a helpful assistant.'),
    storage: z.custom<Storage>(hasMethods('ensureSession', 'appendEvents'), 'must be a Storage').optional(),
    memory: z.custom<Memory>(hasMethods('retrieve'), 'must be a Memory').optional(),
    consent: z.custom<ConsentPolicy>(hasMethods('evaluate'), 'must be a ConsentPolicy').optional(),
    toolSelector: z.custom<ToolSelector>(hasMethods('select'), 'must be a ToolSelector').optional(),
    limits: limitsSchema.default(limitsSchema.parse({})),
    retry: retrySchema.default(retrySchema.parse({})),
    countTokens: z.custom<(text: string) => number>(isFunction, 'must be a function').optional(),
    onEvent: z.custom<(event: StewardEvent) => void>(isFunction, 'must be a function').optional(),
    onWarning: z.custom<(warning: StewardError) => void>(isFunction, 'must be a function').optional(),
    telemetry: telemetryOptionsSchema.optional(),
    budget: z.custom<TokenBudget>(hasMethods('check', 'charge'), 'must be a TokenBudget').optional(),
    prices: z.union([priceTableSchema, z.literal(false)]).optional(),
    _internal: z
      .object({
        now: z.custom<() => number>(isFunction, 'must be a function').optional(),
        generateId: z.custom<() => string>(isFunction, 'must be a function').optional(),
        eventLogRetry: z
          .object({
            retries: z.number().int().nonnegative().max(20),
            minTimeoutMs: z.number().int().nonnegative(),
            maxTimeoutMs: timeoutMs,
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    coordinator: z
      .custom<Coordinator>(
        hasMethods('acquireSessionLock', 'acquireSlot', 'rateLimit', 'requestStop', 'watchStops'),
        'must be a Coordinator',
      )
      .optional(),
    rateLimit: rateLimitSchema.optional(),
    maxActiveRuns: positiveInt.optional(),
  })
  .strict();

/** Limits of every run of an assistant, as resolved with their defaults. */
export interface AssistantLimits {
  /** Model calls per run; a run still asking for tools after this ends with `max_steps`. Default 8. */
  readonly maxSteps: number;
  /** Passed to the model as its output limit; a run option may lower it. */
  readonly maxOutputTokens?: number | undefined;
  /** The whole run, tools included. Default 300,000 ms. */
  readonly runTimeoutMs: number;
  /** One tool call. Default 60,000 ms. */
  readonly toolTimeoutMs: number;
  /** How long the model stream may send nothing before the run ends with a partial answer. Default 30,000 ms. */
  readonly stallTimeoutMs: number;
  /** Earlier messages of the session the prompt may carry. Default 20. */
  readonly historyMessages: number;
  /** Token budget of those earlier messages; the oldest are dropped first. Default 8,000. */
  readonly historyTokens: number;
  /** Memories retrieved per run when a memory adapter is configured. Default 5. */
  readonly memoryResults: number;
  /** Tool output longer than this is truncated before the model reads it. Default 20,000. */
  readonly maxToolResultChars: number;
  /** How long a side-effect call waits for the user's decision. Default 900,000 ms (15 minutes). */
  readonly approvalTtlMs: number;
  /** How often a paused run checks storage for decisions made on other instances. Default 2,000 ms. */
  readonly approvalPollMs: number;
  /**
   * How long a tool's request for input (MCP elicitation) waits for the user's answer before it
   * is answered `cancel`. The run's and the tool's timeouts do not tick meanwhile. Default 600,000 ms (10 minutes).
   */
  readonly inputTimeoutMs: number;
  /** How often a live run touches its record (see `recoverInterruptedRuns`). Default 5,000 ms. */
  readonly heartbeatMs: number;
  /** One active run per session: a second run in a busy session is refused with `session_busy`. Default true. */
  readonly exclusiveSessions: boolean;
  /** How often `streamRun` polls storage for a run of another instance when the coordinator cannot tail. Default 250 ms. */
  readonly streamPollMs: number;
}

/** Retries of a model call that failed (429, 5xx, network) before any output arrived. */
export interface RetryPolicy {
  /** Default 3. */
  readonly retries: number;
  /** First backoff delay; it doubles each retry, with jitter. Default 500 ms. */
  readonly minTimeoutMs: number;
  /** Largest backoff delay; a longer Retry-After still wins. Default 8,000 ms. */
  readonly maxTimeoutMs: number;
}

/** Options of `new Assistant(options)`. Only `model` is required. */
export interface AssistantOptions {
  /** The model adapter, e.g. `createOpenAIModel({ model: 'gpt-4.1-mini' })`. */
  model: LanguageModel;
  /** `defineTool()` tools and `ToolProvider`s (MCP servers, HTTP tool servers). */
  tools?: readonly (Tool | ToolProvider)[];
  /** The system prompt. */
  system?: string;
  /** Where sessions, messages, runs and events are kept. Default: `createInMemoryStorage()`. */
  storage?: Storage;
  /** Long-term memory; without one, prompts carry no memories. */
  memory?: Memory;
  /** Decides which tool calls may run. Default: `createSideEffectConsentPolicy()`. */
  consent?: ConsentPolicy;
  /** Offers a large catalog's relevant slice only, e.g. `createEmbeddingToolSelector()`. Default: every tool. */
  toolSelector?: ToolSelector;
  limits?: Partial<AssistantLimits>;
  retry?: Partial<RetryPolicy>;
  /** Counts tokens for the history budget. Default: about four characters a token. */
  countTokens?: (text: string) => number;
  /** Called with every event of every run (like `assistant.on('event')`). */
  onEvent?: (event: StewardEvent) => void;
  /**
   * Told of what degrades but does not fail a run (a retried model call, a provider that could not
   * list, events that could not be stored), each as a `StewardError` with `details.runId`. The same
   * option as in every Steward package; the `warning` event carries the same warnings.
   */
  onWarning?: (warning: StewardError) => void;
  /**
   * Per-user token budgets (per UTC day and month): a user whose budget is spent is refused with
   * `quota_exceeded` (its `resetAt`); a run that crosses it ends with its partial answer and that
   * error. `createInMemoryTokenBudget()` here, `createRedisTokenBudget()` across instances.
   */
  budget?: TokenBudget;
  /**
   * Prices per model (USD per million input, cached input and output tokens): `usage` events and
   * stored usage carry `cost_usd` for a model found here. Default: {@link defaultOpenAIPrices};
   * `false` leaves costs out.
   */
  prices?: PriceTable | false;
  /** Spans of runs, model calls and tool calls (OpenTelemetry); content only when `recordContent`. */
  telemetry?: TelemetryOptions;
  /**
   * Time, ids and storage retry timing as inputs, for tests that must not depend on the wall
   * clock or on chance. Not part of the stable API: names and shape may change in any release.
   */
  _internal?: AssistantInternals;
  /**
   * Session locks, rate limits, stops and live tails shared by every instance of the assistant.
   * Default: `createInMemoryCoordinator()` (one process); `createRedisRunStore()` for many.
   */
  coordinator?: Coordinator;
  /**
   * At most `runs` runs per user within `windowMs`, across every instance sharing the
   * coordinator; more are refused with `rate_limited`. Default: no limit. A library embedded in
   * your own code admits what you ask it to; the served API (`createStewardApi`) limits by
   * default and passes its limits with each run (`RunInput.admission`).
   */
  rateLimit?: { runs: number; windowMs: number };
  /**
   * At most this many active runs (running or awaiting approval) per user at once, across every
   * instance sharing the coordinator; more are refused with `too_many_active_runs`. A run's slot
   * is extended by its heartbeat and expires three heartbeats after its instance died. Default:
   * no cap (the served API has its own default).
   */
  maxActiveRuns?: number;
}

/**
 * Admission limits a host puts on one run, on top of the assistant's own: where both set one,
 * the stricter applies. `@steward/transport-ws` passes its `rateLimit` and `maxActiveRuns` here
 * for every run a request starts.
 */
export interface RunAdmission {
  /** At most `runs` runs per user within `windowMs`. */
  rateLimit?: { runs: number; windowMs: number } | undefined;
  /** At most this many active runs per user at once. */
  maxActiveRuns?: number | undefined;
}

/** See {@link AssistantOptions._internal}. Not part of the stable API. */
export interface AssistantInternals {
  /**
   * Milliseconds since the epoch: event timestamps, stored times, approval deadlines and stale-run
   * checks, and the default storage's and coordinator's clock. Default `Date.now`. Timers (run
   * timeout, heartbeat, polls) still run on real time; use fake timers for those.
   */
  now?: () => number;
  /** Ids of runs, sessions and the instance. Default `crypto.randomUUID`. */
  generateId?: () => string;
  /** How a failed write of run events is retried before the run ends. Default 5 retries, 100 ms to 2 s apart. */
  eventLogRetry?: { retries: number; minTimeoutMs: number; maxTimeoutMs: number };
}

/** Per-run options (`run({ options })`), the seed's `options` of `POST /api/v1/respond`. */
export interface RunOptions {
  /** Lowers the assistant's output limit for this run. */
  maxOutputTokens?: number;
  /** Narrows the tools offered in this run, by model-visible name. */
  toolOverrides?: {
    /** Offer only these tools. */
    allow?: readonly string[];
    /** Never offer these tools. */
    deny?: readonly string[];
  };
}

/** What `assistant.run()` takes. */
export interface RunInput {
  /** The user's message. */
  input: string;
  /** Who is asking: sessions, runs and history are scoped to this user. */
  userId: string;
  /** Continue this session; a new one is created when it does not exist yet. */
  sessionId?: string;
  /** Aborting it stops the run, like `run.abort()`. */
  signal?: AbortSignal;
  options?: RunOptions;
  /** Limits a host serving untrusted users puts on this run (see {@link RunAdmission}). */
  admission?: RunAdmission;
}

/** @internal */
export const runInputSchema = z
  .object({
    input: safeTextSchema.trim().min(1, 'must not be empty').max(200_000),
    userId: safeIdSchema.min(1).max(256),
    sessionId: safeIdSchema.min(1).max(256).optional(),
    signal: z
      .custom<AbortSignal>((value) => value instanceof AbortSignal, 'must be an AbortSignal')
      .optional(),
    options: z
      .object({
        maxOutputTokens: positiveInt.optional(),
        toolOverrides: z
          .object({
            /** Offer only these tools (model-visible names). */
            allow: z.array(safeIdSchema).readonly().optional(),
            /** Never offer these tools. */
            deny: z.array(safeIdSchema).readonly().optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    admission: z
      .object({ rateLimit: rateLimitSchema.optional(), maxActiveRuns: positiveInt.optional() })
      .strict()
      .optional(),
  })
  .strict();

/** @internal A decision (or a stop, with the run id as `callId`) and whose it is. */
export const decisionInputSchema = z.object({
  callId: safeIdSchema.min(1).max(512),
  scope: z.object({
    userId: safeIdSchema.min(1).max(256),
    reason: safeTextSchema.max(2_000).optional(),
  }),
});

// The schemas accept exactly the documented shapes (checked at compile time here).
const _options: (value: AssistantOptions) => z.input<typeof assistantOptionsSchema> = (value) => value;
const _limits: (value: z.output<typeof limitsSchema>) => AssistantLimits = (value) => value;
const _retry: (value: z.output<typeof retrySchema>) => RetryPolicy = (value) => value;
const _run: (value: RunInput) => z.input<typeof runInputSchema> = (value) => value;
void [_options, _limits, _retry, _run];

/** @internal Run options after parsing. */
export type ResolvedRunOptions = NonNullable<z.output<typeof runInputSchema>['options']>;
