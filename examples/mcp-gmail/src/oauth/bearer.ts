import { InvalidTokenError, type OAuthError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import type {} from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import type { OAuthTokenVerifier } from '@modelcontextprotocol/sdk/server/auth/provider.js';
import type { RequestHandler, Response } from 'express';
import { oauthPrincipal } from '../mcp-server.ts';
import { gmailTools } from '../tools.ts';
import { canonicalResource, resourceScopes } from './options.ts';

/** What the resource server says in its `WWW-Authenticate` challenges. */
export interface ChallengeOptions {
  /** The protected resource metadata URL (RFC 9728 §5.1); absent when the server serves no metadata. */
  readonly resourceMetadataUrl: string | undefined;
  /** The scope a request without a token is challenged for. */
  readonly scope: string;
}

/** An RFC 6750 §3 challenge; the values are ours, so none holds a quote or backslash. */
export function bearerChallenge(fields: Record<string, string | undefined>): string {
  const params = Object.entries(fields)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([key, value]) => `${key}="${value}"`);
  return params.length === 0 ? 'Bearer' : `Bearer ${params.join(', ')}`;
}

function unauthorized(response: Response, challenge: ChallengeOptions, error?: OAuthError): void {
  response
    .status(401)
    .set(
      'www-authenticate',
      bearerChallenge({
        // RFC 6750 §3.1: a request that carried no token gets no error code.
        error: error?.errorCode,
        error_description: error?.message,
        resource_metadata: challenge.resourceMetadataUrl,
        scope: challenge.scope,
      }),
    )
    .json(
      error?.toResponseObject() ?? {
        error: 'unauthorized',
        error_description: 'This server needs an access token',
      },
    );
}

/**
 * The resource server's check of `Authorization: Bearer`. Written here rather than the MCP
 * SDK's `requireBearerAuth`, whose challenge always carries `error="invalid_token"` (RFC 6750
 * §3.1 says a request without a token gets none) and names a `scope` only along with required
 * scopes it would then demand of every request; here the scope depends on the tool called.
 * A token must come from this server's authorization server, be live, and be bound to
 * `resource` (RFC 8707): a token for another resource is refused like an invalid one.
 */
export function requireAccessToken(
  verifier: OAuthTokenVerifier,
  resource: string,
  challenge: ChallengeOptions,
): RequestHandler {
  return async (request, response, next) => {
    const match = /^Bearer ([\w.~+/-]+=*)$/i.exec(request.headers.authorization ?? '');
    if (match === null) {
      unauthorized(response, challenge);
      return;
    }
    try {
      const info = await verifier.verifyAccessToken(match[1] ?? '');
      if (info.resource === undefined || canonicalResource(info.resource) !== resource)
        throw new InvalidTokenError('The access token was issued for another resource');
      request.auth = info;
      next();
    } catch (error) {
      if (error instanceof InvalidTokenError) unauthorized(response, challenge, error);
      else next(error);
    }
  };
}

/** The tool slugs a JSON-RPC message (or batch) calls, or an execute envelope lists. */
function calledTools(body: unknown): string[] {
  const messages = Array.isArray(body) ? body : [body];
  const called = messages.flatMap((message: { method?: unknown; params?: { name?: unknown } } | null) =>
    message?.method === 'tools/call' && typeof message.params?.name === 'string' ? [message.params.name] : [],
  );
  const envelope = (body as { tools?: unknown } | null)?.tools;
  const listed = Array.isArray(envelope)
    ? envelope.flatMap((call: { tool_slug?: unknown } | null) =>
        typeof call?.tool_slug === 'string' ? [call.tool_slug] : [],
      )
    : [];
  return [...called, ...listed];
}

/**
 * Step-up (MCP specification, "Scope Challenge Handling"): a call whose token lacks the tool's
 * scope gets 403 `insufficient_scope`, naming every scope the token has plus the missing ones,
 * so authorizing again for them loses nothing. Runs after the body is parsed.
 */
export function requireToolScopes(challenge: ChallengeOptions): RequestHandler {
  return (request, response, next) => {
    const principal = oauthPrincipal(request.auth);
    if (request.method !== 'POST' || principal === undefined) {
      next();
      return;
    }
    const missing = calledTools(request.body).flatMap((slug) => {
      const tool = gmailTools.find((candidate) => candidate.slug === slug);
      return tool === undefined || principal.scopes.includes(tool.scope) ? [] : [{ slug, scope: tool.scope }];
    });
    if (missing.length === 0) {
      next();
      return;
    }
    const wanted = new Set([...principal.scopes, ...missing.map((entry) => entry.scope)]);
    const ordered = [
      ...resourceScopes.filter((scope) => wanted.has(scope)),
      ...[...wanted].filter((scope) => !(resourceScopes as readonly string[]).includes(scope)),
    ];
    const description = `${missing[0]?.slug} needs the ${missing[0]?.scope} scope`;
    response
      .status(403)
      .set(
        'www-authenticate',
        bearerChallenge({
          error: 'insufficient_scope',
          error_description: description,
          resource_metadata: challenge.resourceMetadataUrl,
          scope: ordered.join(' '),
        }),
      )
      .json({ error: 'insufficient_scope', error_description: description });
  };
}
