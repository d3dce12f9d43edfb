import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';

/** What a mock tool's handler gets besides its arguments. */
export interface MockToolExtra {
  readonly signal: AbortSignal;
  /** Sends `notifications/progress` when the caller asked for progress. */
  reportProgress(progress: number, total?: number, message?: string): Promise<void>;
}

/** A tool of a mock MCP server: its listing, and a handler returning an MCP `CallToolResult`. */
export interface MockMcpTool extends Tool {
  handler(args: Record<string, unknown>, extra: MockToolExtra): Promise<CallToolResult> | CallToolResult;
}

const text = (value: string): CallToolResult => ({ content: [{ type: 'text', text: value }] });

function abortable(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

/**
 * The fault-injecting tools every mock MCP server offers unless told otherwise:
 * `echo`, `add` (read-only, structured output), `slow` (waits, reports progress, honours
 * cancellation), `fail` (an `isError` result), `big` (an oversized result), `malformed` (a
 * result that breaks the MCP schema) and `crash` (the server process exits: stdio only).
 */
export function defaultMockTools(): MockMcpTool[] {
  return [
    {
      name: 'echo',
      description: 'Echoes its text back',
      inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
      annotations: { readOnlyHint: true },
      handler: (args) => text(String(args.text)),
    },
    {
      name: 'add',
      description: 'Adds two numbers',
      inputSchema: {
        type: 'object',
        properties: { a: { type: 'number' }, b: { type: 'number' } },
        required: ['a', 'b'],
      },
      outputSchema: { type: 'object', properties: { sum: { type: 'number' } }, required: ['sum'] },
      annotations: { readOnlyHint: true, idempotentHint: true },
      handler: (args) => {
        const sum = Number(args.a) + Number(args.b);
        return { content: [{ type: 'text', text: String(sum) }], structuredContent: { sum } };
      },
    },
    {
      name: 'slow',
      description: 'Waits `ms` milliseconds in `steps` steps, reporting progress',
      inputSchema: {
        type: 'object',
        properties: { ms: { type: 'integer', minimum: 0 }, steps: { type: 'integer', minimum: 1 } },
        required: ['ms'],
      },
      handler: async (args, extra) => {
        const steps = Number(args.steps ?? 1);
        for (let step = 1; step <= steps; step++) {
          await abortable(Number(args.ms) / steps, extra.signal);
          await extra.reportProgress(step, steps, `step ${step} of ${steps}`);
        }
        return text('done');
      },
    },
    {
      name: 'fail',
      description: 'Always reports an error result',
      inputSchema: { type: 'object', properties: {} },
      handler: () => ({ content: [{ type: 'text', text: 'mailbox quota exceeded' }], isError: true }),
    },
    {
      name: 'big',
      description: 'Returns `size` characters',
      inputSchema: {
        type: 'object',
        properties: { size: { type: 'integer', minimum: 0 } },
        required: ['size'],
      },
      handler: (args) => text('x'.repeat(Number(args.size))),
    },
    {
      name: 'malformed',
      description: 'Returns a result that breaks the MCP schema',
      inputSchema: { type: 'object', properties: {} },
      handler: () => ({ content: [{ type: 'no-such-block' }] }) as unknown as CallToolResult,
    },
    {
      name: 'crash',
      description: 'Kills the server process (stdio servers only)',
      inputSchema: { type: 'object', properties: {} },
      handler: () => {
        setImmediate(() => process.exit(1));
        return new Promise(() => {});
      },
    },
  ];
}
