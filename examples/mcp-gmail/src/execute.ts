import { createHash, randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import { type Mailbox, MailboxError } from './mailbox.ts';
import type { Metrics } from './metrics.ts';
import { gmailTools, runTool, ToolArgumentsError, validateArguments } from './tools.ts';

/** The seed's multi-execute envelope. */
export const executeEnvelopeSchema = z
  .object({
    tools: z
      .array(
        z
          .object({ tool_slug: z.string().min(1), arguments: z.record(z.string(), z.unknown()).default({}) })
          .strict(),
      )
      .min(1)
      .max(20),
    sync_response_to_workbench: z.boolean().default(false),
    thought: z.string().max(10_000).optional(),
    current_step: z.string().max(200).optional(),
    requestId: z.string().min(1).max(200).optional(),
  })
  .strict();

/** The seed's execute response. */
export interface ExecuteResponse {
  requestId: string;
  successful: boolean;
  data: { results: { tool_slug: string; response: unknown; error?: string }[] } | null;
  error: { message: string; details?: unknown } | null;
}

/** What one execute request produced: an HTTP status and the body. */
export interface ExecuteOutcome {
  readonly status: number;
  readonly body: ExecuteResponse;
  readonly replayed: boolean;
}

/**
 * Runs execute envelopes exactly once per requestId: a retry with the same requestId (and the
 * same envelope) gets the stored response, even while the first is still running; the same
 * requestId with a different envelope is a 409.
 */
export class Executor {
  readonly #mailbox: Mailbox;
  readonly #metrics: Metrics | undefined;
  readonly #done = new LRUCache<string, { fingerprint: string; outcome: Promise<ExecuteOutcome> }>({
    max: 10_000,
  });

  constructor(mailbox: Mailbox, metrics?: Metrics) {
    this.#mailbox = mailbox;
    this.#metrics = metrics;
  }

  async execute(body: unknown, idempotencyKey: string | undefined): Promise<ExecuteOutcome> {
    const parsed = executeEnvelopeSchema.safeParse(body);
    const requestId = (parsed.success ? parsed.data.requestId : undefined) ?? idempotencyKey ?? randomUUID();
    if (!parsed.success) {
      return fail(400, requestId, 'The execute envelope is invalid', z.treeifyError(parsed.error));
    }
    const fingerprint = createHash('sha256').update(JSON.stringify(parsed.data.tools)).digest('hex');
    const previous = this.#done.get(requestId);
    if (previous !== undefined) {
      if (previous.fingerprint !== fingerprint) {
        return fail(409, requestId, `requestId ${requestId} was already used for a different request`);
      }
      this.#metrics?.replays.inc();
      return { ...(await previous.outcome), replayed: true };
    }
    const outcome = Promise.resolve().then(() => this.#run(requestId, parsed.data.tools));
    this.#done.set(requestId, { fingerprint, outcome });
    const result = await outcome;
    // A request rejected before anything ran may be sent again, corrected, under the same id.
    if (result.status === 400) this.#done.delete(requestId);
    return result;
  }

  #run(requestId: string, calls: z.output<typeof executeEnvelopeSchema>['tools']): ExecuteOutcome {
    // Check every call before running any, so a bad second call cannot leave the first half done.
    const problems = calls.flatMap(({ tool_slug, arguments: args }) => {
      const tool = gmailTools.find((candidate) => candidate.slug === tool_slug);
      if (tool === undefined)
        return [{ tool_slug, errors: [{ path: '/', message: 'is not an allowed tool' }] }];
      try {
        validateArguments(tool, args);
        return [];
      } catch (error) {
        if (error instanceof ToolArgumentsError) return [{ tool_slug, errors: error.errors }];
        throw error;
      }
    });
    if (problems.length > 0) return fail(400, requestId, 'Arguments do not match the tool schemas', problems);
    const results = calls.map(({ tool_slug, arguments: args }) => {
      const tool = gmailTools.find((candidate) => candidate.slug === tool_slug);
      try {
        const response = runTool(this.#mailbox, tool as (typeof gmailTools)[number], args);
        this.#metrics?.calls.inc({ tool: tool_slug, protocol: 'http', outcome: 'ok' });
        return { tool_slug, response };
      } catch (error) {
        this.#metrics?.calls.inc({ tool: tool_slug, protocol: 'http', outcome: 'error' });
        // Anything else is still an outcome: stored, so a retry gets the same answer, never a rerun.
        return {
          tool_slug,
          response: null,
          error: error instanceof MailboxError ? error.message : 'Internal error',
        };
      }
    });
    const successful = results.every((result) => result.error === undefined);
    return {
      status: 200,
      replayed: false,
      body: {
        requestId,
        successful,
        data: { results },
        error: successful ? null : { message: 'One or more tools failed' },
      },
    };
  }
}

function fail(status: number, requestId: string, message: string, details?: unknown): ExecuteOutcome {
  return {
    status,
    replayed: false,
    body: {
      requestId,
      successful: false,
      data: null,
      error: { message, ...(details === undefined ? {} : { details }) },
    },
  };
}
