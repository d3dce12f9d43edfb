import { z } from 'zod';
import { StewardError } from '../errors/steward-error.ts';
import { parseOptions } from '../internal/parse-options.ts';
import type { ToolAnnotations, ToolCallContext } from './tool-provider.ts';

/** OpenAI's limit on function names; every provider's names are mapped into it. */
export const toolNamePattern = /^[a-zA-Z0-9_-]{1,64}$/;

/** What {@link defineTool} takes. */
export interface ToolConfig<Input extends z.ZodType<Record<string, unknown>>, Output> {
  /** Shown to the model: 1–64 of `a-z A-Z 0-9 _ -`. */
  readonly name: string;
  /** Tells the model when to call it. */
  readonly description: string;
  /** Validates the model's arguments; the model's JSON Schema is derived from it. */
  readonly input: Input;
  /** Validates what `execute` returns before the model sees it. */
  readonly output?: z.ZodType<Output>;
  /** True when a call changes the world (sends, writes, pays): consent policy then applies. Default false. */
  readonly sideEffect?: boolean;
  readonly annotations?: ToolAnnotations;
  /** Runs with validated arguments. Honour `context.signal`: it fires on abort and timeout. */
  execute(args: z.output<Input>, context: ToolCallContext): Output | Promise<Output>;
}

/** A local tool, ready for `new Assistant({ tools: [...] })`. */
export interface Tool<
  Input extends z.ZodType<Record<string, unknown>> = z.ZodType<Record<string, unknown>>,
  Output = unknown,
> extends Omit<ToolConfig<Input, Output>, 'sideEffect'> {
  readonly sideEffect: boolean;
  /** The JSON Schema the model sees, derived once from `input`. */
  readonly inputJsonSchema: Readonly<Record<string, unknown>>;
}

const toolConfigSchema = z.object({
  name: z.string().regex(toolNamePattern, 'must be 1-64 characters of a-z, A-Z, 0-9, _ or -'),
  description: z.string().min(1),
  input: z.custom<z.ZodType>((value) => value instanceof z.ZodType, 'must be a zod schema'),
  output: z.custom<z.ZodType>((value) => value instanceof z.ZodType, 'must be a zod schema').optional(),
  sideEffect: z.boolean().optional(),
  execute: z.custom<(...args: unknown[]) => unknown>(
    (value) => typeof value === 'function',
    'must be a function',
  ),
});

/**
 * Defines a local tool. The model's arguments are checked against `input` before `execute`
 * runs; invalid arguments go back to the model as a tool error, never a crash.
 *
 * @example
 * ```ts
 * const weather = defineTool({
 *   name: 'get_weather',
 *   description: 'Current weather for a city',
 *   input: z.object({ city: z.string() }),
 *   execute: async ({ city }) => ({ city, celsius: 21 }),
 * });
 * ```
 */
export function defineTool<Input extends z.ZodType<Record<string, unknown>>, Output = unknown>(
  config: ToolConfig<Input, Output>,
): Tool<Input, Output> {
  parseOptions(toolConfigSchema, config, `defineTool(${String((config as { name?: unknown }).name)})`);
  let inputJsonSchema: Record<string, unknown>;
  try {
    const { $schema: _ignored, ...schema } = z.toJSONSchema(config.input, {
      io: 'input',
      unrepresentable: 'throw',
    });
    inputJsonSchema = schema;
  } catch (error) {
    throw new StewardError('invalid_options', `defineTool(${config.name}): input has no JSON Schema form`, {
      cause: error,
    });
  }
  if (inputJsonSchema.type !== 'object') {
    throw new StewardError(
      'invalid_options',
      `defineTool(${config.name}): input must be a z.object() schema`,
    );
  }
  return { ...config, sideEffect: config.sideEffect ?? false, inputJsonSchema };
}
