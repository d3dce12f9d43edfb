import {
  parseOptions,
  StewardError,
  type ToolCallContext,
  type ToolDefinition,
  type ToolProvider,
} from '@steward/core';
import { LRUCache } from 'lru-cache';
import pRetry from 'p-retry';
import { z } from 'zod';
import { ArgumentValidator } from './argument-validator.ts';
import { type LargeResultOptions, withLargeResults } from './large-results.ts';
import { defaultAudience, hasAuthorization, signerSchema } from './service-auth.ts';
import type { ServiceTokenSigner } from './service-token-signer.ts';
import { authRefused } from './tool-errors.ts';
import { modelToolName } from './tool-names.ts';

const discoverySchema = z.object({
  name: z.string().optional(),
  version: z.string().optional(),
  allowed_tools: z.array(z.string()),
  tools: z.array(
    z.object({
      tool_slug: z.string().min(1),
      description: z.string().default(''),
      input_schema: z.record(z.string(), z.unknown()),
      side_effect: z.boolean().optional(),
      annotations: z
        .object({
          title: z.string().optional(),
          readOnlyHint: z.boolean().optional(),
          destructiveHint: z.boolean().optional(),
          idempotentHint: z.boolean().optional(),
          openWorldHint: z.boolean().optional(),
        })
        .optional(),
    }),
  ),
});

const executeResponseSchema = z.object({
  requestId: z.string().nullable(),
  successful: z.boolean(),
  data: z
    .object({
      results: z.array(
        z.object({ tool_slug: z.string(), response: z.unknown(), error: z.string().optional() }),
      ),
    })
    .nullable(),
  error: z.object({ message: z.string(), details: z.unknown().optional() }).nullable(),
});

const optionsSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-zA-Z0-9-]{1,32}$/, 'must be 1-32 characters of a-z, A-Z, 0-9 or -')
      .refine((name) => name.toLowerCase() !== 'steward', 'is reserved for Steward’s own tools'),
    url: z.url(),
    headers: z.record(z.string(), z.string()).default({}),
    readOnlyTools: z.array(z.string()).readonly().default([]),
    timeoutMs: z.number().int().positive().max(2_147_483_647).default(30_000),
    catalogTtlMs: z.number().int().positive().default(60_000),
    fetch: z.custom<typeof fetch>((value) => typeof value === 'function').optional(),
    serviceAuth: z
      .object({ signer: signerSchema, audience: z.string().min(1).optional() })
      .strict()
      .optional(),
    largeResults: z
      .custom<LargeResultOptions>((value) => typeof (value as LargeResultOptions)?.store?.put === 'function')
      .optional(),
  })
  .strict()
  .refine((options) => options.serviceAuth === undefined || !hasAuthorization(options.headers), {
    path: ['headers'],
    message: 'sets Authorization, which serviceAuth sends: use one or the other',
  });

/** Options of {@link createHttpToolProvider}. */
export interface HttpToolProviderOptions {
  /** Names the server; its tools are offered as `<name>__<tool_slug>`. */
  name: string;
  /** The server's base URL; `/mcp/discover` and `/mcp/execute` are resolved against it. */
  url: string;
  /** Sent with every request. */
  headers?: Record<string, string>;
  /** Tools the host trusts to be read-only; every other tool counts as a side effect. */
  readOnlyTools?: readonly string[];
  /** Per request. Default 30,000 ms. */
  timeoutMs?: number;
  /** How long a discovered catalog is reused. Default 60,000 ms. */
  catalogTtlMs?: number;
  fetch?: typeof fetch;
  /**
   * Sends `Authorization: Bearer <service JWT>` with every request, from `signer`, for
   * `audience` (default: the origin of `url`, e.g. `https://gmail-mcp.internal:8443`).
   */
  serviceAuth?: { signer: ServiceTokenSigner; audience?: string };
  /** Results above a size go to a blob store; the model reads them with `steward__read_result`. */
  largeResults?: LargeResultOptions;
}

interface Catalog {
  readonly definitions: readonly ToolDefinition[];
  readonly bySlug: ReadonlyMap<string, { slug: string; schema: Readonly<Record<string, unknown>> }>;
}

/**
 * A `ToolProvider` for servers that speak the plain-HTTP tool contract: `GET /mcp/discover`
 * (or `/.well-known/mcp`) and `POST /mcp/execute` with the multi-execute envelope. Arguments are
 * checked against the tool's JSON Schema before any request; every execute carries a requestId
 * derived from the run and call, so a retry (here or by the server) never runs a call twice.
 */
/** A fetch that failed on the network (TypeError) or hit its timeout (TimeoutError). */
function isNetworkFailure(error: unknown): boolean {
  return error instanceof TypeError || (error instanceof DOMException && error.name === 'TimeoutError');
}

function unreachable(error: unknown, where: string): unknown {
  if (error instanceof DOMException && error.name === 'TimeoutError') {
    return new StewardError('tool_timeout', `${where} timed out`, { cause: error });
  }
  if (error instanceof TypeError)
    return new StewardError('tool_unavailable', `${where}: the server could not be reached`, {
      cause: error,
    });
  return error;
}

export function createHttpToolProvider(options: HttpToolProviderOptions): ToolProvider {
  const config = parseOptions(optionsSchema, options, 'createHttpToolProvider');
  const doFetch = config.fetch ?? fetch;
  // Paths resolve under the URL's own path, so `https://host/tools` serves `https://host/tools/mcp/execute`.
  const base = config.url.endsWith('/') ? config.url : `${config.url}/`;
  const validator = new ArgumentValidator();
  const catalogCache = new LRUCache<'catalog', Catalog>({ max: 1, ttl: config.catalogTtlMs });
  // Results by requestId: a call retried in this process is answered without a second request.
  const results = new LRUCache<string, Promise<unknown>>({ max: 10_000, ttl: 3_600_000 });

  const audience =
    config.serviceAuth === undefined
      ? undefined
      : (config.serviceAuth.audience ?? defaultAudience(config.url));

  const request = async (path: string, init: RequestInit, signal?: AbortSignal) => {
    const timeout = AbortSignal.timeout(config.timeoutMs);
    // Asked per request: the signer reuses its token and signs a new one near expiry.
    const token = audience === undefined ? undefined : await config.serviceAuth?.signer.tokenFor(audience);
    return doFetch(new URL(path, base), {
      ...init,
      headers: {
        accept: 'application/json',
        ...config.headers,
        ...(init.headers as Record<string, string>),
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      },
      signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
    });
  };
  const refused = (response: Response, where: string) =>
    authRefused(where, response.status, audience, response.headers.get('www-authenticate') ?? undefined);

  async function discover(signal?: AbortSignal): Promise<Catalog> {
    const cached = catalogCache.get('catalog');
    if (cached !== undefined) return cached;
    let response: Response;
    try {
      response = await request('mcp/discover', { method: 'GET' }, signal);
      if (response.status === 404) response = await request('.well-known/mcp', { method: 'GET' }, signal);
    } catch (error) {
      throw unreachable(error, `${config.name}: discovery`);
    }
    if (response.status === 401 || response.status === 403)
      throw refused(response, `${config.name}: discovery`);
    if (!response.ok)
      throw new StewardError('tool_unavailable', `${config.name}: discovery answered ${response.status}`);
    const document = discoverySchema.safeParse(await response.json().catch(() => undefined));
    if (!document.success) {
      throw new StewardError(
        'tool_unavailable',
        `${config.name}: the discovery document is malformed: ${z.prettifyError(document.error)}`,
      );
    }
    const allowed = new Set(document.data.allowed_tools);
    const offered = document.data.tools.filter((tool) => allowed.has(tool.tool_slug));
    const catalog: Catalog = {
      definitions: offered.map((tool) => ({
        name: modelToolName(config.name, tool.tool_slug),
        description: tool.description,
        inputSchema: tool.input_schema,
        sideEffect: !config.readOnlyTools.includes(tool.tool_slug),
        ...(tool.annotations === undefined ? {} : { annotations: tool.annotations }),
      })),
      bySlug: new Map(
        offered.map((tool) => [
          modelToolName(config.name, tool.tool_slug),
          { slug: tool.tool_slug, schema: tool.input_schema },
        ]),
      ),
    };
    catalogCache.set('catalog', catalog);
    return catalog;
  }

  async function execute(
    slug: string,
    args: unknown,
    requestId: string,
    context: ToolCallContext,
  ): Promise<unknown> {
    const envelope = {
      tools: [{ tool_slug: slug, arguments: args }],
      sync_response_to_workbench: false,
      thought: `run ${context.runId}, call ${context.callId}`,
      current_step: slug,
      requestId,
    };
    const response = await pRetry(
      async () => {
        const answer = await request(
          'mcp/execute',
          {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'idempotency-key': requestId },
            body: JSON.stringify(envelope),
          },
          context.signal,
        );
        if (answer.status >= 500 || answer.status === 429) {
          throw new StewardError(
            'tool_unavailable',
            `${config.name}/${slug}: the server answered ${answer.status}`,
          );
        }
        return answer;
      },
      {
        retries: 2,
        minTimeout: 200,
        randomize: true,
        signal: context.signal,
        // Safe for side effects too: the server answers a repeated requestId from its store.
        shouldRetry: ({ error }) =>
          !context.signal.aborted &&
          ((StewardError.isInstance(error) && error.retryable) || isNetworkFailure(error)),
      },
    ).catch((error: unknown) => {
      throw unreachable(error, `${config.name}/${slug}`);
    });
    if (response.status === 401 || response.status === 403) throw refused(response, `${config.name}/${slug}`);
    const body = executeResponseSchema.safeParse(await response.json().catch(() => undefined));
    if (!body.success) {
      throw new StewardError(
        'tool_execution_failed',
        `${config.name}/${slug}: the execute response is malformed`,
        {
          details: { status: response.status },
        },
      );
    }
    if (response.status === 400) {
      throw new StewardError(
        'tool_invalid_arguments',
        `${config.name}/${slug}: ${body.data.error?.message ?? 'invalid arguments'}`,
        {
          details: { errors: body.data.error?.details },
        },
      );
    }
    const result = body.data.data?.results.find((entry) => entry.tool_slug === slug);
    if (!response.ok || !body.data.successful || result === undefined || result.error !== undefined) {
      const message = result?.error ?? body.data.error?.message ?? `the server answered ${response.status}`;
      throw new StewardError('tool_execution_failed', `${config.name}/${slug}: ${message}`, {
        details: { status: response.status },
      });
    }
    return result.response;
  }

  const provider: ToolProvider = {
    name: config.name,
    listTools: async (listOptions) => (await discover(listOptions?.signal)).definitions,
    async callTool(name, args, context) {
      const entry = (await discover(context.signal)).bySlug.get(name);
      if (entry === undefined)
        throw new StewardError('tool_not_found', `${config.name} offers no tool ${name}`);
      validator.check(entry.schema, args, name);
      const requestId = `${context.runId}:${context.callId}`;
      let pending = results.get(requestId);
      if (pending === undefined) {
        pending = execute(entry.slug, args, requestId, context);
        results.set(requestId, pending);
        // Only a call that got an answer is kept; a failure may be retried with a fresh attempt.
        pending.catch(() => results.delete(requestId));
      }
      return pending;
    },
  };
  return withLargeResults(provider, config.largeResults);
}
