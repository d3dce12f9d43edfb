import type { ConsentPolicy } from '../consent/consent-policy.ts';
import { StewardError } from '../errors/steward-error.ts';
import type { StewardEventInput, StopReason } from '../events/stream-event.ts';
import { addUsage, emptyUsage, type Usage } from '../events/usage.ts';
import { raceAbort } from '../internal/abort.ts';
import type { Memory, MemoryItem } from '../memory/memory.ts';
import type { LanguageModel, ModelFinishReason } from '../model/language-model.ts';
import type { AssistantMessage, Message } from '../model/message.ts';
import { createBudgetGuard } from '../quota/budget-guard.ts';
import { type ModelPrice, withCost } from '../quota/pricing.ts';
import type { TokenBudget } from '../quota/token-budget.ts';
import type { ToolSelector } from '../selection/tool-selector.ts';
import type { Storage } from '../storage/storage.ts';
import type { RunTracing } from '../telemetry/run-tracing.ts';
import type { InputRequest, InputResponse } from '../tools/input-request.ts';
import type { ToolDefinition, ToolProvider } from '../tools/tool-provider.ts';
import { awaitDecisions, type DecisionSignals, handOff } from './approval-wait.ts';
import type { AssistantLimits, ResolvedRunOptions, RetryPolicy } from './assistant-options.ts';
import type { EventLog } from './event-log.ts';
import type { InputCall } from './input-waiters.ts';
import { runModelStep } from './model-step.ts';
import { buildPrompt } from './prompt-builder.ts';
import type { RunResult } from './run.ts';
import { fail, finish, persist } from './run-end.ts';
import type { RunEventStream } from './run-event-stream.ts';
import type { ToolCatalog } from './tool-catalog.ts';
import { loadToolCatalog } from './tool-catalog.ts';
import {
  executeToolCalls,
  type PendingCall,
  resolvePendingCalls,
  type ToolExecutionContext,
} from './tool-execution.ts';

/** @internal Everything one run needs, resolved by the Assistant. */
export interface RunLoopContext {
  readonly runId: string;
  readonly sessionId: string;
  readonly userId: string;
  readonly input: string;
  readonly options: ResolvedRunOptions;
  readonly model: LanguageModel;
  readonly providers: readonly ToolProvider[];
  readonly storage: Storage;
  readonly memory: Memory | undefined;
  readonly consent: ConsentPolicy;
  readonly toolSelector: ToolSelector | undefined;
  readonly system: string;
  readonly limits: AssistantLimits;
  readonly retry: RetryPolicy;
  readonly countTokens: (text: string) => number;
  readonly events: RunEventStream;
  readonly eventLog: EventLog;
  /**
   * The run's fencing token as this loop holds it: every write of the run carries it, and each
   * claim this loop makes (`transitionRun`) moves it on. Storage refuses a stale one (`run_fenced`).
   */
  readonly fence: { epoch: number };
  /** Aborted by `run.abort()`, the caller's signal or the run timeout; the reason says which. */
  readonly signal: AbortSignal;
  readonly warn: (message: string, cause?: unknown) => void;
  /** Spans of the run's model and tool calls. */
  readonly tracing: RunTracing;
  /** The user's token budget, checked before each model call and charged after it. */
  readonly budget: TokenBudget | undefined;
  /** The model's price, when the assistant's table has one: usage then carries `cost_usd`. */
  readonly price: ModelPrice | undefined;
  /** The assistant's clock, milliseconds since the epoch: every stored time and deadline of the run. */
  readonly now: () => number;
  readonly decisions: DecisionSignals;
  /** Stops the run timeout while the run waits for the user, until the returned release is called. */
  readonly holdTimeout: () => () => void;
  /** Asks the run's user for input on behalf of a tool call (MCP elicitation). */
  readonly requestInput: (call: InputCall, request: InputRequest) => Promise<InputResponse>;
  /** Called once the run's record exists in storage, so readers can find it. */
  readonly onRecorded: () => void;
  /** Gives the session lock up (once; later calls do nothing), before the run's `final` is seen. */
  readonly releaseSession: () => Promise<void>;
}

/** @internal */
export interface RunState {
  text: string;
  /** Where the model call in progress began in `text`: its text becomes a partial message if the call fails. */
  stepStart: number;
  usage: Usage;
  readonly messages: Message[];
  runCreated: boolean;
  /** Model calls made so far. */
  step: number;
}

const stopReasonOf: Record<ModelFinishReason, StopReason> = {
  stop: 'stop',
  tool_calls: 'stop',
  other: 'stop',
  length: 'length',
  content_filter: 'content_filter',
};

/** @internal What the step loop works from: the prompt's fixed parts and the run's catalog. */
export interface RunSetup {
  readonly history: readonly Message[];
  readonly memories: readonly MemoryItem[];
  readonly catalog: ToolCatalog;
}

/**
 * @internal The run loop: prompt, model call, tool calls, repeat until the model answers, a
 * limit is hit or something fails. Never throws: every failure becomes `error` and `final` events
 * and a resolved {@link RunResult}.
 */
export async function executeRun(context: RunLoopContext): Promise<RunResult> {
  const state: RunState = {
    text: '',
    stepStart: 0,
    usage: emptyUsage,
    messages: [],
    runCreated: false,
    step: 0,
  };
  context.events.emit({ type: 'run_started', session_id: context.sessionId, user_id: context.userId });
  const guard = guardOf(context);
  try {
    await guard(context.storage.ensureSession(context.sessionId, { userId: context.userId }));
    const createdAt = new Date(context.now()).toISOString();
    await guard(
      context.storage.createRun({
        id: context.runId,
        sessionId: context.sessionId,
        userId: context.userId,
        status: 'running',
        createdAt,
        updatedAt: createdAt,
        options: context.options,
      }),
    );
    state.runCreated = true;
    context.eventLog.enable();
    context.onRecorded();

    const [history, memories, catalog] = await guard(
      Promise.all([
        context.limits.historyMessages === 0
          ? []
          : context.storage.listMessages(context.sessionId, {
              userId: context.userId,
              limit: context.limits.historyMessages,
            }),
        retrieveMemories(context),
        loadRunCatalog(context),
      ]),
    );
    await guard(persist(context, state, [{ role: 'user', content: context.input }]));
    return await runSteps(
      context,
      state,
      { history: history.map((stored) => stored.message), memories, catalog },
      [],
    );
  } catch (caught) {
    return fail(context, state, caught);
  }
}

/** @internal The run's tool catalog, narrowed by the run's overrides and the tool selector. */
export function loadRunCatalog(context: RunLoopContext): Promise<ToolCatalog> {
  return loadToolCatalog(context.providers, context.options.toolOverrides, {
    signal: context.signal,
    run: { userId: context.userId, sessionId: context.sessionId, runId: context.runId },
    warn: context.warn,
    ...(context.toolSelector === undefined ? {} : { select: selectFor(context, context.toolSelector) }),
  });
}

// Every await of an adapter is raced against the run's signal: a storage, provider or policy
// that never answers must not hold a run past its timeout or a stop.
function guardOf(context: RunLoopContext) {
  return <T>(promise: Promise<T>) => raceAbort(promise, context.signal);
}

/** @internal What tool execution needs from a run. */
export function toolContext(context: RunLoopContext, catalog: ToolCatalog): ToolExecutionContext {
  return {
    catalog,
    consent: context.consent,
    storage: context.storage,
    approvalTtlMs: context.limits.approvalTtlMs,
    runId: context.runId,
    sessionId: context.sessionId,
    userId: context.userId,
    toolTimeoutMs: context.limits.toolTimeoutMs,
    maxToolResultChars: context.limits.maxToolResultChars,
    signal: context.signal,
    now: context.now,
    emit: (event) => context.events.emit(event),
    requestInput: context.requestInput,
    tracing: context.tracing,
  };
}

/**
 * @internal The steps of a run, from a fresh start or from a resume: first the calls left
 * waiting for approval (if any), then model call, tool calls, and again, until the model answers.
 */
export async function runSteps(
  context: RunLoopContext,
  state: RunState,
  setup: RunSetup,
  waiting: readonly PendingCall[],
  /** The waiting calls are decided and this loop already claimed the run (a resume). */
  claimed = false,
): Promise<RunResult> {
  const guard = guardOf(context);
  const emit = (event: StewardEventInput) => context.events.emit(event);
  let catalog = setup.catalog;
  let tools = toolContext(context, catalog);
  const budget = createBudgetGuard(context.budget, context.userId, context.countTokens, context.warn);
  try {
    let pending = waiting;
    const maxOutputTokens = minDefined(context.options.maxOutputTokens, context.limits.maxOutputTokens);
    while (true) {
      // A call that runs after its wait may need another (an authorization after a consent).
      while (pending.length > 0) {
        const resumed = claimed || (await awaitDecisions(context, state, pending));
        claimed = false;
        if (!resumed) return handOff(context, state);
        const resolved = await resolvePendingCalls(tools, pending);
        await guard(persist(context, state, resolved.messages));
        pending = resolved.pending;
        if (resolved.connected) {
          // A server the user just connected may offer more tools (or its real ones): list again.
          catalog = await guard(loadRunCatalog(context));
          tools = toolContext(context, catalog);
        }
        if (context.signal.aborted) throw context.signal.reason;
      }
      state.step++;
      const step = state.step;
      await guard(budget.beforeStep());
      const messages = buildPrompt({
        system: context.system,
        memories: setup.memories,
        history: setup.history,
        current: state.messages,
        historyTokens: context.limits.historyTokens,
        countTokens: context.countTokens,
      });
      const outcome = await context.tracing.modelCall(context.model, { messages, maxOutputTokens }, () =>
        runModelStep({
          model: context.model,
          messages,
          tools: catalog.specs,
          maxOutputTokens,
          retry: context.retry,
          stallTimeoutMs: context.limits.stallTimeoutMs,
          signal: context.signal,
          onText: (text) => {
            state.text += text;
            context.events.emitToken(text);
            budget.onText(text);
          },
          onRetry: (error, attempt, delayMs) =>
            context.warn(
              `Model call failed (${error.code}, attempt ${attempt}); retrying in ${delayMs} ms`,
              error,
            ),
        }),
      );
      state.stepStart = state.text.length;
      if (outcome.usage !== undefined) {
        const usage = withCost(outcome.usage, context.price);
        state.usage = addUsage(state.usage, usage);
        emit({ type: 'usage', step, ...usage, total: state.usage });
        await guard(budget.charge(usage));
      }
      const reply: AssistantMessage =
        outcome.toolCalls.length === 0
          ? { role: 'assistant', content: outcome.text }
          : { role: 'assistant', content: outcome.text, toolCalls: outcome.toolCalls };
      await guard(persist(context, state, [reply]));
      if (outcome.toolCalls.length === 0)
        return await finish(context, state, stopReasonOf[outcome.finishReason]);

      if (step >= context.limits.maxSteps) {
        const error = new StewardError(
          'max_steps_exceeded',
          `The model still wanted tools after ${context.limits.maxSteps} steps; the calls were not run`,
        );
        await guard(
          persist(
            context,
            state,
            outcome.toolCalls.map((call) => ({
              role: 'tool' as const,
              callId: call.callId,
              toolName: call.name,
              content: JSON.stringify({ error: { code: error.code, message: error.message } }),
              isError: true,
            })),
          ),
        );
        emit({ type: 'error', code: error.code, message: error.message, retryable: false });
        return await finish(context, state, 'max_steps', error);
      }

      const results = await executeToolCalls(tools, outcome.toolCalls);
      await guard(persist(context, state, results.messages));
      pending = results.pending;
      if (context.signal.aborted) throw context.signal.reason;
    }
  } catch (caught) {
    return fail(context, state, caught);
  }
}

function selectFor(context: RunLoopContext, selector: ToolSelector) {
  return (tools: readonly ToolDefinition[]) =>
    selector.select({ tools, input: context.input, signal: context.signal });
}

async function retrieveMemories(context: RunLoopContext): Promise<readonly MemoryItem[]> {
  if (context.memory === undefined || context.limits.memoryResults === 0) return [];
  try {
    return await context.memory.retrieve(
      {
        userId: context.userId,
        sessionId: context.sessionId,
        text: context.input,
        limit: context.limits.memoryResults,
      },
      { signal: context.signal },
    );
  } catch (error) {
    context.warn('Memory retrieval failed; the prompt carries no memories', error);
    return [];
  }
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
