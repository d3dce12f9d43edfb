import { parseOptions, type RunAdmission, type StoredMessage } from '@steward/core';
import { z } from 'zod';
import { apiOptionsSchema, type StewardApiOptions } from './api-options.ts';
import { type Authenticator, bearerToken, type Principal } from './auth.ts';
import { connectionRoutes } from './connections.ts';
import { errorResponse, json, readJson } from './http-body.ts';
import { failureWarning, HttpError, toHttpError } from './http-error.ts';
import { createOriginPolicy, type OriginPolicy, withOriginPolicy } from './origins.ts';
import { idSchema, respondSchema, seqSchema, validate } from './request-schemas.ts';
import { decisionSchema, inputAnswerSchema, RunAccess, runView } from './run-access.ts';
import { sseResponse } from './sse.ts';
import { registrationBodySchema } from './tool-registrar.ts';

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
  /** @internal The `allowedOrigins` check, shared with the WebSocket endpoint; absent when unset. */
  readonly origins: OriginPolicy | undefined;
  /**
   * @internal What a failure says to the client: 5xx failures in Steward's words, reported in
   * full to `onWarning` under `context` (a request or run id).
   */
  describe(error: unknown, where: string, context: Readonly<Record<string, unknown>>): HttpError;
}

// A path segment that did not decode arrives as undefined.
const pathIdSchema = z.string({ error: 'must be valid percent-encoding' }).pipe(idSchema);

type Route = (request: Request, url: URL, params: readonly string[]) => Promise<Response>;

/**
 * The orchestrator's HTTP API from the architecture document, over an `Assistant`:
 *
 * - `POST /api/v1/respond` `{ session_id?, input, options? }` → 202 `{ run_id, session_id }`
 * - `GET /api/v1/history?session_id=…` → `{ session_id, messages }`
 * - `POST /api/v1/tools/register` (admin) → 201 `{ server }`
 * - `GET /api/v1/runs/:run_id` → the run; `GET /api/v1/runs/:run_id/events` → SSE (`Last-Event-ID` resumes)
 * - `POST /api/v1/runs/:run_id/approvals` `{ call_id, decision, reason? }`; `POST /api/v1/runs/:run_id/stop`
 * - `GET /api/v1/runs/:run_id/approvals` → `{ run_id, approvals }`; `GET /api/v1/approvals/:call_id` → one approval
 * - `GET /api/v1/runs/:run_id/inputs`: the run's requests for input still waiting (`input_required` events)
 * - `POST /api/v1/runs/:run_id/inputs/:request_id` `{ action, content? }`: answers a tool's request for input
 * - with `authorizations`: `GET /api/v1/connections` → `{ connections }`; `POST /api/v1/connections/:server`
 *   → 201 `{ server, authorization_url, state, expires_at }`; `DELETE /api/v1/connections/:server`
 *   → `{ server, disconnected }`; `GET /api/v1/oauth/callback?code&state` (or `error`) → 303 to the
 *   host's `oauth.completionUrl`; `POST /api/v1/oauth/complete` `{ state, code?, error? }` →
 *   `{ server, outcome, run_id?, call_id? }`
 *
 * Every request needs `Authorization: Bearer <JWT>` (but the OAuth callback, which only hands its
 * query to the host's completion page); everything is scoped to the token's user.
 */
export function createStewardApi(options: StewardApiOptions): StewardApi {
  const config = parseOptions(apiOptionsSchema, options, 'createStewardApi');
  const { assistant, auth } = config;
  const access = new RunAccess(assistant);
  const origins = config.allowedOrigins === undefined ? undefined : createOriginPolicy(config.allowedOrigins);
  const admission: RunAdmission = {
    ...(config.rateLimit === false ? {} : { rateLimit: config.rateLimit }),
    ...(config.maxActiveRuns === false ? {} : { maxActiveRuns: config.maxActiveRuns }),
  };

  function describe(error: unknown, where: string, context: Readonly<Record<string, unknown>>): HttpError {
    const requestId = typeof context.requestId === 'string' ? context.requestId : undefined;
    const failure = toHttpError(error, requestId);
    if (failure.status >= 500) {
      try {
        config.onWarning(failureWarning(error, where, context));
      } catch {
        // A warning listener that throws must not turn a 503 into something worse.
      }
    }
    return failure;
  }

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
      throw new HttpError(
        403,
        'forbidden',
        'A run token can only read its run, decide its approvals and answer its requests for input',
      );
    return principal;
  }

  const routes: Record<string, Route> = {
    'POST /api/v1/respond': async (request) => {
      const principal = await userPrincipal(request);
      const body = validate(respondSchema, await readJson(request, config.maxBodyBytes));
      const run = await assistant.start({
        input: body.input,
        userId: principal.userId,
        admission,
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
      const sessionId = validate(idSchema, url.searchParams.get('session_id') ?? undefined, 'session_id');
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
      const body = await readJson(request, config.maxBodyBytes);
      validate(registrationBodySchema, body);
      const server = await (config.tools.register as (registration: unknown) => Promise<unknown>)(body);
      return json(201, { server });
    },
    'GET /api/v1/runs/:run_id': async (request, _url, [runId]) => {
      const principal = await principalOf(request);
      return json(200, runView(await access.run(principal, runId as string)));
    },
    'GET /api/v1/runs/:run_id/events': async (request, url, [runId]) => {
      const principal = await principalOf(request);
      const resumeFrom = request.headers.get('last-event-id') ?? url.searchParams.get('last_seq') ?? '0';
      const afterSeq = validate(seqSchema, resumeFrom, 'Last-Event-ID');
      const run = await access.run(principal, runId as string);
      // An ended run with nothing after Last-Event-ID: 204 tells EventSource to stop reconnecting.
      if (run.status !== 'running' && run.status !== 'awaiting_approval') {
        // One event tells: a reconnect must not read the rest of a long run just to decide.
        const pending = await assistant.getRunEvents(runId as string, {
          userId: principal.userId,
          afterSeq,
          limit: 1,
        });
        if (pending.length === 0) return new Response(null, { status: 204 });
      }
      return sseResponse(
        (signal) => access.events(principal, runId as string, afterSeq, signal),
        request.signal,
        config.keepAliveMs,
        (error) => ({
          ...describe(error, `Streaming run ${runId} over SSE`, { runId }).toBody().error,
          run_id: runId,
        }),
      );
    },
    'POST /api/v1/runs/:run_id/approvals': async (request, _url, [runId]) => {
      const principal = await principalOf(request);
      const decision = validate(decisionSchema, await readJson(request, config.maxBodyBytes));
      return json(200, await access.decide(principal, runId as string, decision));
    },
    'GET /api/v1/runs/:run_id/approvals': async (request, _url, [runId]) => {
      const principal = await principalOf(request);
      return json(200, { run_id: runId, approvals: await access.approvals(principal, runId as string) });
    },
    'GET /api/v1/approvals/:call_id': async (request, _url, [callId]) => {
      const principal = await principalOf(request);
      return json(200, await access.approval(principal, callId as string));
    },
    'GET /api/v1/runs/:run_id/inputs': async (request, _url, [runId]) => {
      const principal = await principalOf(request);
      return json(200, { run_id: runId, inputs: await access.inputs(principal, runId as string) });
    },
    'POST /api/v1/runs/:run_id/inputs/:request_id': async (request, _url, [runId, requestId]) => {
      const principal = await principalOf(request);
      const answer = validate(inputAnswerSchema, await readJson(request, config.maxBodyBytes));
      return json(200, await access.respondToInput(principal, runId as string, requestId as string, answer));
    },
    'POST /api/v1/runs/:run_id/stop': async (request, _url, [runId]) => {
      const principal = await userPrincipal(request);
      await access.stop(principal, runId as string);
      return json(202, { run_id: runId, stopping: true });
    },
    ...connectionRoutes({
      assistant,
      authorizations: config.authorizations,
      completionUrl: config.oauth?.completionUrl,
      maxBodyBytes: config.maxBodyBytes,
      userPrincipal,
      warn: (warning) => {
        try {
          config.onWarning(warning);
        } catch {
          // A warning listener that throws must not fail the callback it is told about.
        }
      },
    }),
  };

  async function handle(request: Request): Promise<Response | undefined> {
    const url = new URL(request.url);
    const match = matchRoute(request.method, url.pathname);
    if (match === undefined) return undefined;
    if (origins === undefined) return answer(request, url, match);
    return withOriginPolicy(origins, request, match.allowed, () => answer(request, url, match));
  }

  async function answer(request: Request, url: URL, match: RouteMatch): Promise<Response> {
    if (match.route === undefined) {
      return errorResponse(
        new HttpError(405, 'method_not_allowed', `${request.method} is not allowed here`, {
          headers: { allow: match.allowed.join(', ') },
        }),
      );
    }
    try {
      if (match.invalid !== undefined) validate(pathIdSchema, match.invalid.value, match.invalid.name);
      return await match.route(request, url, match.params);
    } catch (error) {
      const requestId = crypto.randomUUID();
      return errorResponse(
        describe(error, `${request.method} ${url.pathname}`, {
          requestId,
          method: request.method,
          path: url.pathname,
        }),
      );
    }
  }

  function matchRoute(method: string, path: string): RouteMatch | undefined {
    const segments = path.split('/').filter((part) => part !== '');
    let found: RouteMatch | undefined;
    for (const [key, route] of Object.entries(routes)) {
      const [routeMethod, pattern] = key.split(' ') as [string, string];
      const parts = pattern.split('/').filter((part) => part !== '');
      if (parts.length !== segments.length) continue;
      const params: string[] = [];
      let invalid: RouteMatch['invalid'];
      const same = parts.every((part, index) => {
        const segment = segments[index] as string;
        if (part.startsWith(':')) {
          // A malformed escape or a control character is the client's error (400), not a miss.
          const decoded = safeDecode(segment);
          if (decoded === undefined || !idSchema.safeParse(decoded).success)
            invalid ??= { name: part.slice(1), value: decoded };
          params.push(decoded ?? '');
          return true;
        }
        return part === segment;
      });
      if (!same) continue;
      found ??= { params, allowed: [], route: undefined, invalid };
      found.allowed.push(routeMethod);
      if (routeMethod === method) found = { ...found, params, route, invalid };
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
    origins,
    describe,
  };
}

interface RouteMatch {
  readonly route: Route | undefined;
  readonly params: string[];
  readonly allowed: string[];
  /** A path parameter that is not a valid id, answered with 400 naming it. */
  readonly invalid: { readonly name: string; readonly value: string | undefined } | undefined;
}

/** A path segment decoded, or `undefined` for a malformed escape. */
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
