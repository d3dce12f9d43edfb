import { createHash, timingSafeEqual } from 'node:crypto';
import type { OAuthRegisteredClientsStore } from '@modelcontextprotocol/sdk/server/auth/clients.js';
import {
  InvalidClientError,
  InvalidRequestError,
  OAuthError,
  ServerError,
} from '@modelcontextprotocol/sdk/server/auth/errors.js';
import express, { type RequestHandler, type Response } from 'express';
import { registeredMethod } from './clients.ts';
import type { TokenEndpointAuthMethod } from './options.ts';

const same = (left: string, right: string) =>
  timingSafeEqual(createHash('sha256').update(left).digest(), createHash('sha256').update(right).digest());

// RFC 6749 §2.3.1: the id and secret are form-urlencoded before they are joined and encoded.
const formDecode = (value: string) => decodeURIComponent(value.replaceAll('+', ' '));

function refuse(response: Response, error: OAuthError, basic: boolean): void {
  // RFC 6749 §5.2: invalid_client is a 401, with a challenge in the scheme the client tried.
  const status = error instanceof InvalidClientError ? 401 : error instanceof ServerError ? 500 : 400;
  if (status === 401 && basic) response.set('www-authenticate', 'Basic realm="gmail-mock"');
  response.status(status).set('cache-control', 'no-store').json(error.toResponseObject());
}

/**
 * Client authentication for the token and revocation endpoints, before the MCP SDK's handlers:
 * they read only `client_id` and `client_secret` from the form (`client_secret_post`), so this
 * also takes HTTP Basic (`client_secret_basic`, which RFC 6749 requires a server to accept),
 * and holds each client to the method it registered: a confidential client cannot drop its
 * secret, and no client may use two methods at once. It hands the SDK the form it expects.
 */
export function authenticateClient(
  clientsStore: OAuthRegisteredClientsStore,
  methods: readonly TokenEndpointAuthMethod[],
): RequestHandler[] {
  const check: RequestHandler = async (request, response, next) => {
    if (request.method !== 'POST') {
      next();
      return;
    }
    const body = (request.body ?? {}) as Record<string, unknown>;
    const header = request.headers.authorization;
    const basic = header !== undefined;
    try {
      let method: TokenEndpointAuthMethod;
      let clientId: unknown = body.client_id;
      let clientSecret: unknown = body.client_secret;
      if (basic) {
        const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header);
        const decoded = match === null ? '' : Buffer.from(match[1] ?? '', 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon < 0)
          throw new InvalidClientError('The Authorization header is not HTTP Basic client credentials');
        if (clientSecret !== undefined)
          throw new InvalidRequestError('Use one client authentication method: Basic or the form, not both');
        try {
          clientId = formDecode(decoded.slice(0, colon));
          clientSecret = formDecode(decoded.slice(colon + 1));
        } catch {
          throw new InvalidClientError('The Basic credentials are not form-urlencoded');
        }
        if (body.client_id !== undefined && body.client_id !== clientId)
          throw new InvalidRequestError('client_id in the form differs from the Basic credentials');
        method = 'client_secret_basic';
      } else {
        method = clientSecret === undefined ? 'none' : 'client_secret_post';
      }
      if (typeof clientId !== 'string' || clientId === '')
        throw new InvalidRequestError('client_id is required');
      if (clientSecret !== undefined && typeof clientSecret !== 'string')
        throw new InvalidRequestError('client_secret must be a string');
      const client = await clientsStore.getClient(clientId);
      if (client === undefined) throw new InvalidClientError('Unknown client_id');
      if (!methods.includes(method))
        throw new InvalidClientError(
          `${method} is not a token endpoint authentication method of this server`,
        );
      const registered = registeredMethod(client);
      if (method !== registered)
        throw new InvalidClientError(`This client registered ${registered} and authenticated with ${method}`);
      if (method !== 'none') {
        const expiresAt = client.client_secret_expires_at ?? 0;
        if (client.client_secret === undefined || !same(String(clientSecret), client.client_secret))
          throw new InvalidClientError('Invalid client credentials');
        if (expiresAt !== 0 && expiresAt * 1000 < Date.now())
          throw new InvalidClientError('The client secret has expired');
      }
      // What the client sent, for the request log: the SDK gets the credentials in the form.
      response.locals.sentForm = body;
      request.body = {
        ...body,
        client_id: clientId,
        ...(method === 'none' ? {} : { client_secret: clientSecret }),
      };
      next();
    } catch (error) {
      refuse(response, error instanceof OAuthError ? error : new ServerError('Internal Server Error'), basic);
    }
  };
  return [express.urlencoded({ extended: false }), check];
}
