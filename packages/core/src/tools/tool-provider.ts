import type { InputRequest, InputResponse } from './input-request.ts';

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
  /** A name for people (MCP's `title`), shown in UIs instead of `name` when given. */
  readonly title?: string;
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

/**
 * What a listing knows about the run it serves. Providers whose catalog depends on the user (an
 * MCP server each user connects with their own account) read `userId`; the rest ignore it.
 * Absent fields mean a listing outside any run (an admin page, a health check).
 */
export interface ToolListContext {
  readonly signal?: AbortSignal | undefined;
  readonly userId?: string | undefined;
  readonly sessionId?: string | undefined;
  readonly runId?: string | undefined;
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
  /**
   * Asks the run's user for input mid-call (MCP elicitation): a form to fill in or a URL to
   * open. The run emits `input_required` and resolves with the user's answer: `accept` with
   * content already checked against the form (defaults applied), `decline`, or `cancel` (also
   * when nobody answers within `limits.inputTimeoutMs`, or the run stops). Neither the tool's
   * timeout nor the run's ticks while it waits. Aborting `signal` withdraws the request
   * (`cancel`). Absent outside a run (a direct call), and rejects with `invalid_input` for a
   * request it cannot show.
   */
  requestInput?(request: InputRequest, options?: { signal?: AbortSignal }): Promise<InputResponse>;
}

/** A link to a resource a tool points at (MCP `resource_link` content), for a UI to render. */
export interface ResourceLink {
  readonly uri: string;
  readonly name: string;
  readonly title?: string;
  readonly description?: string;
  readonly mimeType?: string;
}

const toolOutputMarker = Symbol.for('steward.tool-output');

/**
 * A tool result with parts meant for the user's screen beside what the model reads: return it
 * from `callTool` (or a local tool's `execute`) instead of a bare value. Build it with
 * {@link createToolOutput}.
 */
export interface ToolOutput {
  /** What the model reads and `tool_result.result` carries. */
  readonly value: unknown;
  /** Links the tool returned; `tool_result.resource_links` carries them. */
  readonly resourceLinks?: readonly ResourceLink[];
  readonly [toolOutputMarker]: true;
}

/**
 * Wraps a tool's result with its resource links.
 *
 * @example
 * ```ts
 * return createToolOutput({ value: 'Found 2 files', resourceLinks: [{ uri: 'file:///a.txt', name: 'a.txt' }] });
 * ```
 */
export function createToolOutput(output: {
  value: unknown;
  resourceLinks?: readonly ResourceLink[];
}): ToolOutput {
  return {
    value: output.value,
    ...(output.resourceLinks === undefined ? {} : { resourceLinks: output.resourceLinks }),
    [toolOutputMarker]: true,
  };
}

/** True for a {@link ToolOutput} (checked by a `Symbol.for` marker, so duplicate copies agree). */
export function isToolOutput(value: unknown): value is ToolOutput {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[toolOutputMarker] === true
  );
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
  listTools(options?: ToolListContext): Promise<readonly ToolDefinition[]>;
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
