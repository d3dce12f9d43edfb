/**
 * Hints a tool's server gives about its behaviour (MCP's annotations). They are untrusted:
 * policy decides what needs consent, never a hint.
 */
export interface ToolAnnotations {
  readonly title?: string | undefined;
  readonly readOnlyHint?: boolean | undefined;
  readonly destructiveHint?: boolean | undefined;
  readonly idempotentHint?: boolean | undefined;
  readonly openWorldHint?: boolean | undefined;
}

/** A tool as a provider lists it. `name` is unique within the provider and safe to show the model. */
export interface ToolDefinition {
  readonly name: string;
  readonly description: string;
  /** JSON Schema of the arguments object. */
  readonly inputSchema: Readonly<Record<string, unknown>>;
  /** True when calling it changes something outside the run (sends, writes, pays). Drives consent. */
  readonly sideEffect: boolean;
  readonly annotations?: ToolAnnotations;
}

/** What a tool reports while it runs; becomes a `tool_progress` event. */
export interface ToolProgress {
  readonly progress: number;
  readonly total?: number;
  readonly message?: string;
}

/** Everything a tool call knows about the run it serves. */
export interface ToolCallContext {
  /** Aborted when the run stops or the call times out; the reason says which. */
  readonly signal: AbortSignal;
  readonly runId: string;
  readonly sessionId: string;
  readonly userId: string;
  readonly callId: string;
  reportProgress(progress: ToolProgress): void;
}

/**
 * The tool seam: local tools, MCP servers and HTTP tool servers all sit behind it.
 *
 * `callTool` validates `args` against the tool's schema and resolves with the result, or
 * rejects with a {@link StewardError} (`tool_invalid_arguments`, `tool_execution_failed`, …)
 * that the run loop reports to the model as a tool error.
 */
export interface ToolProvider {
  /** Names the provider in logs and warnings, e.g. `local`, `gmail`. */
  readonly name: string;
  /** The provider's catalog. A run lists once at start and keeps that snapshot. */
  listTools(options?: { signal?: AbortSignal }): Promise<readonly ToolDefinition[]>;
  callTool(name: string, args: unknown, context: ToolCallContext): Promise<unknown>;
}

/** True when `value` looks like a {@link ToolProvider} rather than a single tool. */
export function isToolProvider(value: unknown): value is ToolProvider {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ToolProvider).listTools === 'function' &&
    typeof (value as ToolProvider).callTool === 'function'
  );
}
