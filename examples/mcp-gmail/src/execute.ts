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

/**
 * Why an execute request failed as a whole, in `error.code`:
 * - `invalid_json`, `body_too_large`, `unsupported_media_type`, `unsupported_charset`: the body
 *   could not be read (400, 413, 415, 415);
 * - `invalid_envelope`: the body is not the multi-execute envelope (400, `details` per field);
 * - `invalid_arguments`: a call names no allowed tool, or its arguments fail the tool's schema or
 *   the depth and size limits (400, `details`: every error of every call; nothing ran);
 * - `request_id_conflict`: the requestId was used for another request (409);
 * - `tools_failed`: one or more tools ran and failed (200, each result's `error` says why);
 * - `unauthorized`: no valid service token (401, from the auth middleware);
 * - `internal_error`: a bug (500).
 */
export type ExecuteErrorCode =
  | 'invalid_json'
  | 'body_too_large'
  | 'unsupported_media_type'
  | 'unsupported_charset'
  | 'invalid_envelope'
  | 'invalid_arguments'
  | 'request_id_conflict'
  | 'tools_failed'
  | 'unauthorized'
  | 'internal_error';

/** The seed's execute response, plus a `code` on errors. */
export interface ExecuteResponse {
  requestId: string | null;
  successful: boolean;
  data: { results: { tool_slug: string; response: unknown; error?: string }[] } | null;
  error: { code: ExecuteErrorCode; message: string; details?: unknown } | null;
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

  /**
   * Runs the envelope on `principal`'s mailbox (the OAuth mode's signed-in user; see `Mailbox`).
   * requestIds are remembered per principal: one user's id never replays another's response.
   */
  async execute(
    body: unknown,
    idempotencyKey: string | undefined,
    principal?: string,
  ): Promise<ExecuteOutcome> {
    const parsed = executeEnvelopeSchema.safeParse(body);
    const requestId = (parsed.success ? parsed.data.requestId : undefined) ?? idempotencyKey ?? randomUUID();
    if (!parsed.success) {
      return fail(
        400,
        requestId,
        'invalid_envelope',
        'The execute envelope is invalid',
        z.treeifyError(parsed.error),
      );
    }
    // Every call is checked before anything is hashed, stored or run: arguments too deep or too
    // large never reach JSON.stringify, and a bad second call cannot leave the first half done.
    const problems = parsed.data.tools.flatMap(({ tool_slug, arguments: args }) => {
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
    if (problems.length > 0)
      return fail(400, requestId, 'invalid_arguments', 'Arguments do not match the tool schemas', problems);
    const fingerprint = createHash('sha256').update(JSON.stringify(parsed.data.tools)).digest('hex');
    const key = principal === undefined ? requestId : `${principal}\u0000${requestId}`;
    const previous = this.#done.get(key);
    if (previous !== undefined) {
      if (previous.fingerprint !== fingerprint) {
        return fail(
          409,
          requestId,
          'request_id_conflict',
          `requestId ${requestId} was already used for a different request`,
        );
      }
      this.#metrics?.replays.inc();
      return { ...(await previous.outcome), replayed: true };
    }
    const outcome = Promise.resolve().then(() => this.#run(requestId, parsed.data.tools, principal));
    this.#done.set(key, { fingerprint, outcome });
    return outcome;
  }

  #run(
    requestId: string,
    calls: z.output<typeof executeEnvelopeSchema>['tools'],
    principal: string | undefined,
  ): ExecuteOutcome {
    const results = calls.map(({ tool_slug, arguments: args }) => {
      const tool = gmailTools.find((candidate) => candidate.slug === tool_slug);
      try {
        const response = runTool(this.#mailbox, tool as (typeof gmailTools)[number], args, principal);
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
        error: successful ? null : { code: 'tools_failed', message: 'One or more tools failed' },
      },
    };
  }
}

/** A failed execute response with its status: also what the app answers bodies it cannot read. */
export function fail(
  status: number,
  requestId: string | null,
  code: ExecuteErrorCode,
  message: string,
  details?: unknown,
): ExecuteOutcome {
  return {
    status,
    replayed: false,
    body: {
      requestId,
      successful: false,
      data: null,
      error: { code, message, ...(details === undefined ? {} : { details }) },
    },
  };
}
