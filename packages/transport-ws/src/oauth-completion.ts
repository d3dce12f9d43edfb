import { type Assistant, isStewardError, StewardError } from '@steward/core';
import { z } from 'zod';
import type { Principal } from './auth.ts';
import type { Authorizations } from './connections.ts';
import { json, readJson } from './http-body.ts';
import { HttpError } from './http-error.ts';
import { idSchema, validate } from './request-schemas.ts';

// Why two steps. The OAuth redirect arrives from the authorization server with only `code` and
// `state`: no bearer (and, in pattern B, no cookie the orchestrator could read), so this API
// cannot tell whose browser it is. Were the callback to redeem the code, an attacker could begin
// an authorization bound to their own user, get a victim to open its URL and sign in at the
// authorization server, and the victim's tokens would be stored under the attacker's user. So the
// callback only hands the query to the host's completion page, where the browser's own user is
// known, and that page completes with the user's token (`POST /api/v1/oauth/complete`); the
// authorizations object refuses a user who is not the state's before anything is redeemed.

/** `POST /api/v1/oauth/complete`: the authorization is done and, when a run's call waited, it was told. */
export interface AuthorizationCompletionView {
  readonly server: string;
  /** `connected`, or `declined` when the user said no at the authorization server. */
  readonly outcome: 'connected' | 'declined';
  /** The run whose call waited for the connection, when one did. */
  readonly run_id?: string;
  readonly call_id?: string;
}

/** The body of `POST /api/v1/oauth/complete`: the callback's query, as the completion page got it. */
export interface AuthorizationCompletionBody {
  state: string;
  code?: string;
  error?: string;
  error_description?: string;
}

// RFC 6749 §4.1.2 and appendix A: `code` and `state` are printable ASCII (VSCHAR), `error` and
// `error_description` the same less `"` and `\`. Bounded, and checked before the state is used.
const printable = /^[\x20-\x7e]+$/;
const errorText = /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/;
const fields = {
  state: idSchema.max(512).regex(printable, 'must be printable ASCII'),
  code: z.string().min(1).max(4_096).regex(printable, 'must be printable ASCII').optional(),
  error: z.string().min(1).max(256).regex(errorText, 'must be printable ASCII').optional(),
  error_description: z.string().min(1).max(1_024).regex(errorText, 'must be printable ASCII').optional(),
};
const carriesCodeOrError = (query: { code?: string | undefined; error?: string | undefined }) =>
  query.code !== undefined || query.error !== undefined;
const neither = { message: 'needs code or error (the authorization server sends one of them)' };

// The authorization server may add other parameters (`iss`, `scope`); they are not passed on.
const callbackSchema = z.object(fields).refine(carriesCodeOrError, neither);
const completionSchema = z.object(fields).strict().refine(carriesCodeOrError, neither);

// A body's type and its schema must agree.
const _body: (value: AuthorizationCompletionBody) => z.input<typeof completionSchema> = (value) => value;
void _body;

/** @internal What the OAuth routes need from the API. */
export interface OAuthRouteContext {
  readonly assistant: Assistant;
  readonly enabled: () => Authorizations;
  /** The host's completion page; the callback cannot complete without one. */
  readonly completionUrl: string | undefined;
  readonly maxBodyBytes: number;
  readonly userPrincipal: (request: Request) => Promise<Principal>;
  readonly warn: (warning: StewardError) => void;
}

type Route = (request: Request, url: URL, params: readonly string[]) => Promise<Response>;

/** @internal `GET /api/v1/oauth/callback` (hands over, never redeems) and `POST /api/v1/oauth/complete`. */
export function oauthRoutes(context: OAuthRouteContext): Record<string, Route> {
  return {
    'GET /api/v1/oauth/callback': async (_request, url) => callback(context, url),
    'POST /api/v1/oauth/complete': async (request) => complete(context, request),
  };
}

async function callback(context: OAuthRouteContext, url: URL): Promise<Response> {
  context.enabled();
  if (context.completionUrl === undefined) {
    context.warn(
      new StewardError(
        'invalid_options',
        'An OAuth callback arrived, but createStewardApi has no oauth.completionUrl: the user cannot finish connecting',
        { details: { option: 'oauth.completionUrl' } },
      ),
    );
    return page(
      500,
      'Not connected',
      'This deployment has no page to finish connecting accounts: its operator must configure one (oauth.completionUrl).',
      { code: 'invalid_options', reason: 'completion_url_missing' },
    );
  }
  const parsed = callbackSchema.safeParse(Object.fromEntries(url.searchParams));
  if (!parsed.success) {
    return page(400, 'Not connected', 'This link is not a valid authorization callback.', {
      code: 'invalid_request',
    });
  }
  const location = new URL(context.completionUrl);
  for (const name of ['code', 'state', 'error', 'error_description'] as const) {
    location.searchParams.delete(name);
    const value = parsed.data[name];
    if (value !== undefined) location.searchParams.set(name, value);
  }
  return new Response(null, { status: 303, headers: { location: location.toString(), ...pageHeaders } });
}

async function complete(context: OAuthRouteContext, request: Request): Promise<Response> {
  const authorizations = context.enabled();
  const principal = await context.userPrincipal(request);
  const body = validate(completionSchema, await readJson(request, context.maxBodyBytes));
  const userId = principal.userId;
  let completed: Awaited<ReturnType<Authorizations['completeAuthorization']>>;
  try {
    completed = await authorizations.completeAuthorization({
      state: body.state,
      userId,
      ...(body.code === undefined ? {} : { code: body.code }),
      ...(body.error === undefined ? {} : { error: body.error }),
      ...(body.error_description === undefined ? {} : { errorDescription: body.error_description }),
    });
  } catch (error) {
    if (!isStewardError(error) || error.code !== 'authorization_failed') throw error;
    return failed(context, error, userId);
  }
  if (completed.userId !== userId) {
    // An authorizations object that does not check the user redeemed another user's state: the
    // tokens it stored under that user are this browser's account. Forget them, and refuse.
    await authorizations.disconnect({ server: completed.server, userId: completed.userId });
    context.warn(
      new StewardError(
        'authorization_failed',
        `${completed.server}: completeAuthorization accepted a user who did not begin the authorization; its tokens were deleted. Pass an authorizations object that checks userId (@steward/mcp's registry does)`,
        { details: { server: completed.server, reason: 'wrong_user' } },
      ),
    );
    throw wrongUser(completed.server);
  }
  if (completed.runId !== undefined && completed.callId !== undefined)
    await resumeWaitingCall(context, {
      runId: completed.runId,
      callId: completed.callId,
      userId,
      outcome: 'connected',
    });
  return json(200, view(completed.server, 'connected', completed.runId, completed.callId));
}

/** A refusal in the client's terms: the reason and server, never whose state it was. */
async function failed(context: OAuthRouteContext, error: StewardError, userId: string): Promise<Response> {
  const reason = typeof error.details.reason === 'string' ? error.details.reason : 'failed';
  const server = typeof error.details.server === 'string' ? error.details.server : undefined;
  // An object that says whose state it was, and it is not this user's: refused like a mismatch.
  const owner = error.details.userId;
  if (reason === 'wrong_user' || (typeof owner === 'string' && owner !== userId)) throw wrongUser(server);
  if (reason === 'denied' && server !== undefined) {
    // The user said no at the authorization server: the run that waited hears it now, not at
    // expiry (when the authorizations object names the call; the user is the token's).
    const { runId, callId } = error.details;
    const waited = typeof runId === 'string' && typeof callId === 'string';
    if (waited) await resumeWaitingCall(context, { runId, callId, userId, outcome: 'declined' });
    return json(200, view(server, 'declined', waited ? runId : undefined, waited ? callId : undefined));
  }
  const said = typeof error.details.error === 'string' ? { error: error.details.error } : {};
  throw new HttpError(400, 'authorization_failed', error.message, {
    details: { reason, ...(server === undefined ? {} : { server }), ...said },
  });
}

function wrongUser(server: string | undefined): HttpError {
  return new HttpError(
    400,
    'authorization_failed',
    'This authorization was begun by another user: sign in as that user to finish it, or start your own',
    { details: { reason: 'wrong_user', ...(server === undefined ? {} : { server }) } },
  );
}

function view(
  server: string,
  outcome: 'connected' | 'declined',
  runId: string | undefined,
  callId: string | undefined,
): AuthorizationCompletionView {
  return {
    server,
    outcome,
    ...(runId === undefined || callId === undefined ? {} : { run_id: runId, call_id: callId }),
  };
}

/** The run waits for this call no longer. Its own end (expired, already completed) is not the completion's failure. */
async function resumeWaitingCall(
  context: OAuthRouteContext,
  completion: { runId: string; callId: string; userId: string; outcome: 'connected' | 'declined' },
): Promise<void> {
  try {
    await context.assistant.completeAuthorization(completion);
  } catch (error) {
    const expected =
      isStewardError(error) &&
      ['approval_not_found', 'approval_expired', 'approval_conflict', 'not_found'].includes(error.code);
    if (!expected && isStewardError(error)) context.warn(error);
    else if (!expected) throw error;
  }
}

// The callback's URL holds a code: no cache keeps the answer, no Referer carries it on.
const pageHeaders = { 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' };

/** A page a person reads in the tab the authorization server sent back; the data attributes are for tests and scripts. */
function page(
  status: number,
  title: string,
  text: string,
  data: { code: string; reason?: string },
): Response {
  const attributes = Object.entries(data)
    .map(([key, value]) => ` data-${key}="${escapeHtml(value)}"`)
    .join('');
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><main${attributes}><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p></main></body></html>`;
  return new Response(body, {
    status,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': "default-src 'none'",
      ...pageHeaders,
    },
  });
}

function escapeHtml(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (character) =>
      ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[character] as string,
  );
}
