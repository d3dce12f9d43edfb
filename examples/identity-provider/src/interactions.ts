import type { IncomingMessage, ServerResponse } from 'node:http';
import { errors, type Provider } from 'oidc-provider';
import { consentPage, loginPage, messagePage, pageSecurityHeaders, stylesheet } from './pages.ts';
import { checkPassword, type IdentityUser } from './users.ts';

type NodeHandler = (request: IncomingMessage, response: ServerResponse) => void;

/** @internal What the interaction pages need. */
export interface InteractionOptions {
  readonly provider: Provider;
  readonly users: readonly IdentityUser[];
  readonly name: string;
  readonly hint: readonly string[] | undefined;
  /** The provider's own handler, for everything that is not an interaction page. */
  readonly next: NodeHandler;
}

const maxFormBytes = 8 * 1024;
const favicon =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="14" fill="#6d28d9"/><circle cx="32" cy="26" r="10" fill="#fff"/><path d="M14 54c2-10 9-15 18-15s16 5 18 15z" fill="#fff"/></svg>';

function send(response: ServerResponse, status: number, body: string, type = 'text/html; charset=utf-8') {
  response.writeHead(status, { ...pageSecurityHeaders, 'content-type': type });
  response.end(body);
}

/** A urlencoded form body, at most 8 kB; anything else reads as no fields. */
async function formFields(request: IncomingMessage): Promise<URLSearchParams> {
  if (!(request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded'))
    return new URLSearchParams();
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxFormBytes) throw new errors.InvalidRequest('the form is too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const asStrings = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);

/**
 * @internal The provider's sign-in and consent pages (`/interaction/:uid`), in front of the
 * provider itself: GET shows the page the interaction's prompt asks for, POST `login` checks the
 * password, POST `confirm` records the grant, POST `abort` answers the client `access_denied`.
 */
export function createInteractionHandler(options: InteractionOptions): NodeHandler {
  const { provider, users, name } = options;

  const clientName = async (clientId: unknown) => {
    const client = typeof clientId === 'string' ? await provider.Client.find(clientId) : undefined;
    return client?.clientName ?? (typeof clientId === 'string' ? clientId : 'an application');
  };

  async function show(request: IncomingMessage, response: ServerResponse) {
    const details = await provider.interactionDetails(request, response);
    const client = await clientName(details.params.client_id);
    if (details.prompt.name === 'login') {
      send(
        response,
        200,
        loginPage({ providerName: name, uid: details.uid, clientName: client, ...hintOf() }),
      );
      return;
    }
    const missing = details.prompt.details;
    const scopes = asStrings(missing.missingOIDCScope).filter((scope) => scope !== 'openid');
    const resourceScopes = (missing.missingResourceScopes ?? {}) as Record<string, unknown>;
    const user = users.find((candidate) => candidate.id === details.session?.accountId);
    send(
      response,
      200,
      consentPage({
        providerName: name,
        uid: details.uid,
        clientName: client,
        userName: user?.name ?? 'you',
        scopes: scopes.length === 0 ? ['openid'] : scopes,
        resources: Object.entries(resourceScopes).map(([indicator, list]) => ({
          indicator,
          scopes: asStrings(list),
        })),
      }),
    );
  }

  const hintOf = () => (options.hint === undefined ? {} : { hint: options.hint });

  async function login(request: IncomingMessage, response: ServerResponse) {
    const details = await provider.interactionDetails(request, response);
    const fields = await formFields(request);
    const username = fields.get('username') ?? '';
    const user = checkPassword(users, username, fields.get('password') ?? '');
    if (details.prompt.name !== 'login' || user === undefined) {
      send(
        response,
        400,
        loginPage({
          providerName: name,
          uid: details.uid,
          clientName: await clientName(details.params.client_id),
          username: username.slice(0, 64),
          error: 'That username and password do not match an account.',
          ...hintOf(),
        }),
      );
      return;
    }
    await provider.interactionFinished(
      request,
      response,
      { login: { accountId: user.id } },
      { mergeWithLastSubmission: false },
    );
  }

  async function confirm(request: IncomingMessage, response: ServerResponse) {
    const details = await provider.interactionDetails(request, response);
    const accountId = details.session?.accountId;
    if (details.prompt.name !== 'consent' || accountId === undefined)
      throw new errors.InvalidRequest('nothing to consent to');
    const clientId = String(details.params.client_id);
    const grant =
      (details.grantId === undefined ? undefined : await provider.Grant.find(details.grantId)) ??
      new provider.Grant({ accountId, clientId });
    const missing = details.prompt.details;
    const scopes = asStrings(missing.missingOIDCScope);
    if (scopes.length > 0) grant.addOIDCScope(scopes.join(' '));
    const claims = asStrings(missing.missingOIDCClaims);
    if (claims.length > 0) grant.addOIDCClaims(claims);
    for (const [indicator, list] of Object.entries(
      (missing.missingResourceScopes ?? {}) as Record<string, unknown>,
    ))
      grant.addResourceScope(indicator, asStrings(list).join(' '));
    const grantId = await grant.save();
    await provider.interactionFinished(
      request,
      response,
      { consent: details.grantId === undefined ? { grantId } : {} },
      { mergeWithLastSubmission: true },
    );
  }

  async function abort(request: IncomingMessage, response: ServerResponse) {
    await provider.interactionFinished(
      request,
      response,
      { error: 'access_denied', error_description: 'The user cancelled the sign-in.' },
      { mergeWithLastSubmission: false },
    );
  }

  return (request, response) => {
    const path = new URL(request.url ?? '/', 'http://idp.invalid').pathname;
    if (path === '/favicon.ico') {
      send(response, 200, favicon, 'image/svg+xml');
      return;
    }
    if (path === '/idp.css') {
      send(response, 200, stylesheet, 'text/css; charset=utf-8');
      return;
    }
    const match = /^\/interaction\/([\w-]{1,64})(?:\/(login|confirm|abort))?$/.exec(path);
    if (match === null) {
      options.next(request, response);
      return;
    }
    response.setHeader('cache-control', 'no-store');
    const action = match[2];
    const method = request.method ?? 'GET';
    const step =
      action === undefined && method === 'GET'
        ? show
        : method === 'POST' && action === 'login'
          ? login
          : method === 'POST' && action === 'confirm'
            ? confirm
            : method === 'POST' && action === 'abort'
              ? abort
              : undefined;
    if (step === undefined) {
      send(response, 405, messagePage(name, 'Not allowed', 'This page does not take that request.'));
      return;
    }
    step(request, response).catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      const expired = error instanceof errors.SessionNotFound;
      send(
        response,
        400,
        messagePage(
          name,
          expired ? 'This sign-in expired' : 'Something went wrong',
          expired
            ? 'Go back to the application and sign in again.'
            : 'The sign-in could not be completed. Go back to the application and try again.',
        ),
      );
    });
  };
}
