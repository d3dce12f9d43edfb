import { authorizationHandler } from '@modelcontextprotocol/sdk/server/auth/handlers/authorize.js';
import { metadataHandler } from '@modelcontextprotocol/sdk/server/auth/handlers/metadata.js';
import { clientRegistrationHandler } from '@modelcontextprotocol/sdk/server/auth/handlers/register.js';
import { revocationHandler } from '@modelcontextprotocol/sdk/server/auth/handlers/revoke.js';
import { tokenHandler } from '@modelcontextprotocol/sdk/server/auth/handlers/token.js';
import {
  createOAuthMetadata,
  getOAuthProtectedResourceMetadataUrl,
} from '@modelcontextprotocol/sdk/server/auth/router.js';
import type { OAuthMetadata, OAuthProtectedResourceMetadata } from '@modelcontextprotocol/sdk/shared/auth.js';
import express, { type RequestHandler, type Router } from 'express';
import { type ChallengeOptions, requireAccessToken, requireToolScopes } from './bearer.ts';
import { authenticateClient } from './client-auth.ts';
import { createClientsStore } from './clients.ts';
import { createConsent } from './consent.ts';
import { createGrantStore } from './grants.ts';
import {
  type GmailOAuthOptions,
  type ResolvedOAuthConfig,
  resolveOAuthOptions,
  resourceScopes,
} from './options.ts';
import { createGmailOAuthProvider } from './provider.ts';

/** One request to the authorization server or a discovery document, as a test would assert it. */
export interface OAuthRequestRecord {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** The form or JSON body, with `client_secret` and `password` replaced by `[redacted]`. */
  readonly body: Readonly<Record<string, unknown>>;
  /** The scheme of the `Authorization` header (`Basic`), never its value. */
  readonly authorization: string | undefined;
  readonly status: number;
}

/** The OAuth mode's parts, for the app to mount. */
export interface GmailOAuth {
  readonly config: ResolvedOAuthConfig;
  /** The authorization server's endpoints, the consent pages and the discovery documents; mount at the root. */
  readonly router: Router;
  /** Bearer token check for the MCP endpoints (before the body is read). */
  readonly requireToken: RequestHandler;
  /** The per-tool scope check (after the body is read). */
  readonly requireToolScopes: RequestHandler;
  /** The authorization server metadata it serves. */
  readonly metadata: OAuthMetadata;
  /** The protected resource metadata URL in its challenges; undefined when `metadata` is off. */
  readonly resourceMetadataUrl: string | undefined;
  /** Every request to the authorization server and discovery paths, oldest first. */
  readonly requests: OAuthRequestRecord[];
}

const redacted = new Set(['client_secret', 'password']);

function recordRequests(requests: OAuthRequestRecord[]): RequestHandler {
  return (request, response, next) => {
    response.on('finish', () => {
      const url = new URL(request.originalUrl, 'http://gmail.invalid');
      const sent: unknown = response.locals.sentForm ?? request.body;
      const body =
        typeof sent === 'object' && sent !== null && !Array.isArray(sent)
          ? Object.fromEntries(
              Object.entries(sent as Record<string, unknown>).map(([key, value]) => [
                key,
                redacted.has(key) ? '[redacted]' : value,
              ]),
            )
          : {};
      requests.push({
        method: request.method,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        body,
        authorization: request.headers.authorization?.split(' ')[0],
        status: response.statusCode,
      });
    });
    next();
  };
}

/**
 * Completes the MCP SDK's error redirects from `/authorize`: it drops `state` when the
 * parameters fail its schema (it reads `state` only once they parse), which RFC 6749 §4.1.2.1
 * requires whenever the request had one; and RFC 9207 wants `iss` on every authorization
 * response, errors too. The body is read when the redirect is sent: the SDK parses it first.
 */
function completeErrorRedirects(issuer: string): RequestHandler {
  return (request, response, next) => {
    const redirect = response.redirect.bind(response) as (status: number, url: string) => void;
    response.redirect = ((status: number, url: string) => {
      const target = new URL(url);
      const sent = (request.method === 'POST' ? request.body : request.query) as
        | { state?: unknown }
        | undefined;
      if (target.searchParams.has('error')) {
        if (!target.searchParams.has('state') && typeof sent?.state === 'string')
          target.searchParams.set('state', sent.state);
        target.searchParams.set('iss', issuer);
      }
      redirect(status, target.href);
    }) as typeof response.redirect;
    next();
  };
}

/**
 * The Gmail mock's authorization server, in process, on the MCP SDK's handlers: RFC 8414
 * metadata, RFC 9728 protected resource metadata (path-based and root), dynamic registration
 * (RFC 7591), the authorization code grant with PKCE S256 and a consent page, refresh tokens
 * with rotation, revocation (RFC 7009); and the resource server's token and scope checks.
 */
export function createGmailOAuth(
  options: GmailOAuthOptions,
  context: { mailboxes: readonly string[]; now: () => number },
): GmailOAuth {
  const config = resolveOAuthOptions(options, context.mailboxes);
  const clientsStore = createClientsStore(config);
  const grants = createGrantStore(config, context.now);
  const consent = createConsent(config, grants, context.now);
  const provider = createGmailOAuthProvider(config, clientsStore, grants, consent);
  const rateLimit = config.rateLimit ? {} : { rateLimit: false as const };
  const issuerUrl = new URL(config.issuer);
  const methods = [...config.tokenEndpointAuthMethods];
  let sdkMetadata: OAuthMetadata;
  try {
    sdkMetadata = createOAuthMetadata({ provider, issuerUrl, scopesSupported: [...config.scopes] });
  } catch (error) {
    // The SDK's own rule: HTTPS, or HTTP on localhost or 127.0.0.1 (a server on 0.0.0.0 needs an issuer).
    throw new Error(
      `Gmail mock OAuth: the issuer ${config.issuer} is refused (${(error as Error).message}): set issuer (GMAIL_MCP_OAUTH_ISSUER) to an https or http://localhost origin`,
    );
  }
  const metadata: OAuthMetadata = {
    ...sdkMetadata,
    // The SDK writes the issuer as URL.href (a trailing slash); RFC 8414 compares it as a string.
    issuer: config.issuer,
    // The SDK advertises client_secret_post and none; Basic is added in front of its handlers.
    token_endpoint_auth_methods_supported: methods,
    revocation_endpoint_auth_methods_supported: methods,
    response_modes_supported: ['query'],
    authorization_response_iss_parameter_supported: true,
  };
  const resourceMetadata: OAuthProtectedResourceMetadata = {
    resource: config.resource,
    authorization_servers: [config.issuer],
    scopes_supported: [...resourceScopes],
    bearer_methods_supported: ['header'],
    resource_name: 'Gmail mock',
  };
  const pathMetadataUrl = getOAuthProtectedResourceMetadataUrl(new URL(config.resource));
  const resourceMetadataUrl = config.metadata ? pathMetadataUrl : undefined;
  const challenge: ChallengeOptions = { resourceMetadataUrl, scope: 'gmail.readonly' };
  const requests: OAuthRequestRecord[] = [];

  const router = express.Router();
  router.use(
    [
      '/.well-known/oauth-protected-resource',
      '/.well-known/oauth-authorization-server',
      '/.well-known/openid-configuration',
    ],
    recordRequests(requests),
  );
  router.use(['/authorize', '/token', '/register', '/revoke', '/consent'], recordRequests(requests));
  router.use(
    '/authorize',
    completeErrorRedirects(config.issuer),
    authorizationHandler({ provider, ...rateLimit }),
  );
  router.use('/consent', consent.router);
  router.use(
    '/token',
    ...authenticateClient(clientsStore, methods),
    tokenHandler({ provider, ...rateLimit }),
  );
  router.use(
    '/revoke',
    ...authenticateClient(clientsStore, methods),
    revocationHandler({ provider, ...rateLimit }),
  );
  if (config.dynamicClientRegistration)
    router.use('/register', clientRegistrationHandler({ clientsStore, ...rateLimit }));
  if (config.metadata) {
    router.use('/.well-known/oauth-authorization-server', metadataHandler(metadata));
    // RFC 9728 §3.1 path-based first; the root too, which the MCP specification lets clients fall back to.
    router.use(new URL(pathMetadataUrl).pathname, metadataHandler(resourceMetadata));
    router.use('/.well-known/oauth-protected-resource', metadataHandler(resourceMetadata));
  }
  return {
    config,
    router,
    requireToken: requireAccessToken(provider, config.resource, challenge),
    requireToolScopes: requireToolScopes(challenge),
    metadata,
    resourceMetadataUrl,
    requests,
  };
}
