import { type Assistant, parseOptions, type StoredMessage } from '@steward/core';
import { z } from 'zod';
import { type Authenticator, bearerToken, type Principal } from './auth.ts';
import { HttpError, toHttpError } from './http-error.ts';
import { decisionSchema, RunAccess, runView } from './run-access.ts';
import { sseResponse } from './sse.ts';
import { registrationBodySchema, type ToolRegistrar } from './tool-registrar.ts';

export type { ToolRegistrar } from './tool-registrar.ts';

/** Options of {@link createStewardApi}. */
export interface StewardApiOptions {
  assistant: Assistant;
  auth: Authenticator;
  /** Enables `POST /api/v1/tools/register` (admins only). */
  tools?: ToolRegistrar;
  /** Largest accepted request body. Default 1 MiB; larger gets 413. */
  maxBodyBytes?: number;
  /** How often an idle SSE stream sends a comment so proxies keep it open. Default 15,000 ms. */
  keepAliveMs?: number;
}

const optionsSchema = z
  .object({
    assistant: z.custom<Assistant>(
      (value) => typeof (value as Assistant | undefined)?.streamRun === 'function',
      'must be an Assistant',
    ),
    auth: z.custom<Authenticator>(
      (value) => typeof (value as Authenticator | undefined)?.authenticate === 'function',
      'must be an Authenticator (createJwtAuth())',
    ),
    tools: z
      .custom<ToolRegistrar>(
        (value) => typeof (value as ToolRegistrar | undefined)?.register === 'function',
        'must have register()',
      )
      .optional(),
    maxBodyBytes: z
      .number()
      .int()
      .positive()
      .max(64 * 1024 * 1024)
      .default(1024 * 1024),
    keepAliveMs: z.number().int().positive().max(3_600_000).default(15_000),
  })
  .strict();

// Ids are opaque, but never control characters: NUL would reach (and upset) the database.
const isPrintable = (value: string) => {
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    if (code < 0x20 || code === 0x7f) return false;
  }
  return true;
};
const sessionIdSchema = z.string().min(1).max(256).refine(isPrintable, 'must not contain control characters');

const respondSchema = z
  .object({
    session_id: sessionIdSchema.optional(),
    input: z.string().trim().min(1, 'must not be empty').max(200_000),
    options: z
      .object({
        max_output_tokens: z.number().int().positive().max(1_000_000).optional(),
        tool_overrides: z
          .object({
            allow: z.array(z.string().min(1).max(256)).max(1_000).optional(),
            deny: z.array(z.string().min(1).max(256)).max(1_000).optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** `POST /api/v1/respond`'s body, as the architecture document gives it. */
export interface RespondBody {
  session_id?: string;
  input: string;
  options?: {
    max_output_tokens?: number;
    tool_overrides?: { allow?: string[]; deny?: string[] };
  };
}

// The schema and the documented type must agree.
const _respond: (value: RespondBody) => z.input<typeof respondSchema> = (value) => value;
void _respond;

const seqSchema = z.coerce.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** A message of `GET /api/v1/history`: the stored message with its place in the session. */
export type HistoryMessage = StoredMessage['message'] & {
  readonly id: string;
  readonly run_id: string;
  readonly created_at: string;
};

/** The seed's API as a Web-standard handler; mount it with `toNodeHandler` or in a Next route. */
export interface StewardApi {
  /** Answers any request: a 404 body for paths that are not the API's. */
  fetch(request: Request): Promise<Response>;
  /** Answers the API's requests; resolves `undefined` for other paths, so a host can fall through. */
  handle(request: Request): Promise<Response | undefined>;
  /** @internal Shared with the WebSocket endpoint. */
  readonly access: RunAccess;
  /** @internal */
  readonly auth: Authenticator;
}

type Route = (request: Request, url: URL, params: readonly string[]) => Promise<Response>;

/**
 * The orchestrator's HTTP API from the architecture document, over an `Assistant`:
 *
 * - `POST /api/v1/respond` `{ session_id?, input, options? }` → 202 `{ run_id, session_id }`
 * - `GET /api/v1/history?session_id=…` → `{ session_id, messages }`
 * - `POST /api/v1/tools/register` (admin) → 201 `{ server }`
 * - `GET /api/v1/runs/:run_id` → the run; `GET /api/v1/runs/:run_id/events` → SSE (`Last-Event-ID` resumes)
 * - `POST /api/v1/runs/:run_id/approvals` `{ call_id, decision, reason? }`; `POST /api/v1/runs/:run_id/stop`
 *
 * Every request needs `Authorization: Bearer <JWT>`; everything is scoped to the token's user.
 */
export function createStewardApi(options: StewardApiOptions): StewardApi {
  const config = parseOptions(optionsSchema, options, 'createStewardApi');
  const { assistant, auth } = config;
  const access = new RunAccess(assistant);

  async function principalOf(request: Request): Promise<Principal> {
    const token = bearerToken(request.headers.get('authorization'));
    if (token === undefined)
      throw new HttpError(401, 'unauthorized', 'Missing Authorization: Bearer <token>', {
        headers: { 'www-authenticate': 'Bearer' },
      });
    return auth.authenticate(token);
  }

  async function userPrincipal(request: Request): Promise<Principal> {
    const principal = await principalOf(request);
    if (principal.runId !== undefined)
      throw new HttpError(403, 'forbidden', 'A run token can only read its run and decide its approvals');
    return principal;
  }

  async function readJson(request: Request): Promise<unknown> {
    const type = request.headers.get('content-type') ?? '';
    if (!/^application\/json\b/i.test(type))
      throw new HttpError(415, 'unsupported_media_type', 'The body must be application/json');
    const declared = Number(request.headers.get('content-length') ?? Number.NaN);
    if (declared > config.maxBodyBytes) throw tooLarge(config.maxBodyBytes);
    const text = await readLimited(request, config.maxBodyBytes);
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new HttpError(400, 'invalid_request', `The body is not valid JSON: ${(error as Error).message}`);
    }
  }

  const routes: Record<string, Route> = {
    'POST /api/v1/respond': async (request) => {
      const principal = await userPrincipal(request);
      const body = validate(respondSchema, await readJson(request));
      const run = await assistant.start({
        input: body.input,
        userId: principal.userId,
        ...(body.session_id === undefined ? {} : { sessionId: body.session_id }),
        ...(body.options === undefined
          ? {}
          : {
              options: {
                ...(body.options.max_output_tokens === undefined
                  ? {}
                  : { maxOutputTokens: body.options.max_output_tokens }),
                ...(body.options.tool_overrides === undefined
                  ? {}
                  : { toolOverrides: withoutUndefined(body.options.tool_overrides) }),
              },
            }),
      });
      return json(202, { run_id: run.id, session_id: run.sessionId });
    },
    'GET /api/v1/history': async (request, url) => {
      const principal = await userPrincipal(request);
      const sessionId = validate(
        sessionIdSchema,
        url.searchParams.get('session_id') ?? undefined,
        'session_id',
      );
      const scope = { userId: principal.userId };
      if ((await assistant.storage.getSession(sessionId, scope)) === undefined)
        throw new HttpError(404, 'not_found', `Session ${sessionId} does not exist`);
      const limit = url.searchParams.has('limit')
        ? validate(seqSchema.pipe(z.number().min(1).max(1_000)), url.searchParams.get('limit'), 'limit')
        : undefined;
      const stored = await assistant.getHistory(sessionId, {
        ...scope,
        ...(limit === undefined ? {} : { limit }),
      });
      const messages: HistoryMessage[] = stored.map((item) => ({
        ...item.message,
        id: item.id,
        run_id: item.runId,
        created_at: item.createdAt,
      }));
      return json(200, { session_id: sessionId, messages });
    },
    'POST /api/v1/tools/register': async (request) => {
      const principal = await userPrincipal(request);
      if (!principal.roles.includes('admin'))
        throw new HttpError(403, 'forbidden', 'Registering tools needs the admin role');
      if (config.tools === undefined)
        throw new HttpError(404, 'not_found', 'Tool registration is not enabled on this server');
      const body = await readJson(request);
      validate(registrationBodySchema, body);
      const server = await (config.tools.register as (registration: unknown) => Promise<unknown>)(body);
      return json(201, { server });
    },
    'GET /api/v1/runs/:id': async (request, _url, [runId]) => {
      const principal = await principalOf(request);
      return json(200, runView(await access.run(principal, runId as string)));
    },
    'GET /api/v1/runs/:id/events': async (request, url, [runId]) => {
      const principal = await principalOf(request);
      const resumeFrom = request.headers.get('last-event-id') ?? url.searchParams.get('last_seq') ?? '0';
      const afterSeq = validate(seqSchema, resumeFrom, 'Last-Event-ID');
      const run = await access.run(principal, runId as string);
      // An ended run with nothing after Last-Event-ID: 204 tells EventSource to stop reconnecting.
      if (run.status !== 'running' && run.status !== 'awaiting_approval') {
        const pending = await assistant.getRunEvents(runId as string, { userId: principal.userId, afterSeq });
        if (pending.length === 0) return new Response(null, { status: 204 });
      }
      return sseResponse(
        (signal) => access.events(principal, runId as string, afterSeq, signal),
        request.signal,
        config.keepAliveMs,
      );
    },
    'POST /api/v1/runs/:id/approvals': async (request, _url, [runId]) => {
      const principal = await principalOf(request);
      const decision = validate(decisionSchema, await readJson(request));
      return json(200, await access.decide(principal, runId as string, decision));
    },
    'POST /api/v1/runs/:id/stop': async (request, _url, [runId]) => {
      const principal = await userPrincipal(request);
      await access.stop(principal, runId as string);
      return json(202, { run_id: runId, stopping: true });
    },
  };

  async function handle(request: Request): Promise<Response | undefined> {
    const url = new URL(request.url);
    const match = matchRoute(request.method, url.pathname);
    if (match === undefined) return undefined;
    if (match.route === undefined) {
      return errorResponse(
        new HttpError(405, 'method_not_allowed', `${request.method} is not allowed here`, {
          headers: { allow: match.allowed.join(', ') },
        }),
      );
    }
    try {
      return await match.route(request, url, match.params);
    } catch (error) {
      return errorResponse(toHttpError(error));
    }
  }

  function matchRoute(
    method: string,
    path: string,
  ): { route: Route | undefined; params: string[]; allowed: string[] } | undefined {
    const segments = path.split('/').filter((part) => part !== '');
    let found: { params: string[]; allowed: string[]; route: Route | undefined } | undefined;
    for (const [key, route] of Object.entries(routes)) {
      const [routeMethod, pattern] = key.split(' ') as [string, string];
      const parts = pattern.split('/').filter((part) => part !== '');
      if (parts.length !== segments.length) continue;
      const params: string[] = [];
      const same = parts.every((part, index) => {
        const segment = segments[index] as string;
        if (part.startsWith(':')) {
          const decoded = safeDecode(segment);
          if (decoded === undefined || decoded.length > 256 || !isPrintable(decoded)) return false;
          params.push(decoded);
          return true;
        }
        return part === segment;
      });
      if (!same) continue;
      found ??= { params, allowed: [], route: undefined };
      found.allowed.push(routeMethod);
      if (routeMethod === method) found = { ...found, params, route };
    }
    return found;
  }

  return {
    handle,
    async fetch(request) {
      return (
        (await handle(request)) ??
        errorResponse(new HttpError(404, 'not_found', `No route for ${request.method}`))
      );
    },
    access,
    auth,
  };
}

function validate<T>(schema: z.ZodType<T>, value: unknown, field?: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => ({
    path: field === undefined ? issue.path.join('.') : [field, ...issue.path].join('.'),
    message: issue.message,
    code: issue.code,
  }));
  throw new HttpError(
    400,
    'invalid_request',
    `Invalid request: ${issues.map((issue) => `${issue.path || '(body)'}: ${issue.message}`).join('; ')}`,
    { details: { issues } },
  );
}

/** A path segment decoded, or `undefined` for a malformed escape (which then matches no route). */
function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function withoutUndefined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as never;
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, 'payload_too_large', `The body exceeds ${limit} bytes`);
}

/** Reads the body as text, refusing it as soon as it grows past `limit` bytes. */
async function readLimited(request: Request, limit: number): Promise<string> {
  if (request.body === null) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    const bytes = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return decoder.decode(bytes);
  } catch {
    throw new HttpError(400, 'invalid_request', 'The body is not valid UTF-8');
  }
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
  });
}

function errorResponse(error: HttpError): Response {
  return json(error.status, error.toBody(), error.headers);
}
