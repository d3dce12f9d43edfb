import { z } from 'zod';
import type { ConsentPolicy } from '../consent/consent-policy.ts';
import type { StewardEvent } from '../events/stream-event.ts';
import type { Memory } from '../memory/memory.ts';
import type { LanguageModel } from '../model/language-model.ts';
import type { Storage } from '../storage/storage.ts';
import type { Tool } from '../tools/define-tool.ts';
import type { ToolProvider } from '../tools/tool-provider.ts';

const positiveInt = z.number().int().positive();
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
    runTimeoutMs: positiveInt.default(300_000),
    /** One tool call. */
    toolTimeoutMs: positiveInt.default(60_000),
    /** The model stream may go this long without a chunk before the run ends with a partial answer. */
    stallTimeoutMs: positiveInt.default(30_000),
    /** How many earlier messages of the session the prompt may carry. */
    historyMessages: z.number().int().nonnegative().default(20),
    /** Token budget of those earlier messages; the oldest are dropped first. */
    historyTokens: positiveInt.default(8_000),
    /** Memories retrieved per run when a memory adapter is configured. */
    memoryResults: z.number().int().nonnegative().default(5),
    /** Tool output longer than this is truncated before the model reads it. */
    maxToolResultChars: positiveInt.default(20_000),
  })
  .strict();

/** @internal */
export const retrySchema = z
  .object({
    /** Retries of a failed model call (429, 5xx, network) before any output arrived. */
    retries: z.number().int().nonnegative().max(10).default(3),
    minTimeoutMs: z.number().int().nonnegative().default(500),
    maxTimeoutMs: positiveInt.default(8_000),
  })
  .strict();

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
      .default([]),
    system: z.string().default('You are a helpful assistant.'),
    storage: z.custom<Storage>(hasMethods('ensureSession', 'appendEvents'), 'must be a Storage').optional(),
    memory: z.custom<Memory>(hasMethods('retrieve'), 'must be a Memory').optional(),
    consent: z.custom<ConsentPolicy>(hasMethods('evaluate'), 'must be a ConsentPolicy').optional(),
    limits: limitsSchema.default(limitsSchema.parse({})),
    retry: retrySchema.default(retrySchema.parse({})),
    countTokens: z.custom<(text: string) => number>(isFunction, 'must be a function').optional(),
    onEvent: z.custom<(event: StewardEvent) => void>(isFunction, 'must be a function').optional(),
  })
  .strict();

/** Options of `new Assistant(options)`. */
export type AssistantOptions = z.input<typeof assistantOptionsSchema>;
/** Limits of a run, with their defaults. */
export type AssistantLimits = z.output<typeof limitsSchema>;
/** Retry policy of model calls, with its defaults. */
export type RetryPolicy = z.output<typeof retrySchema>;

/** @internal */
export const runInputSchema = z
  .object({
    input: z.string().trim().min(1, 'must not be empty').max(200_000),
    userId: z.string().min(1).max(256),
    sessionId: z.string().min(1).max(256).optional(),
    signal: z
      .custom<AbortSignal>((value) => value instanceof AbortSignal, 'must be an AbortSignal')
      .optional(),
    options: z
      .object({
        maxOutputTokens: positiveInt.optional(),
        toolOverrides: z
          .object({
            /** Offer only these tools (model-visible names). */
            allow: z.array(z.string()).optional(),
            /** Never offer these tools. */
            deny: z.array(z.string()).optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** What `assistant.run()` takes. */
export type RunInput = z.input<typeof runInputSchema>;
/** Per-run options (`input.options`). */
export type RunOptions = NonNullable<RunInput['options']>;
