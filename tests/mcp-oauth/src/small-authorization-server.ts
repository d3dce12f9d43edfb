// A small authorization server for the flows the Gmail mock and oidc-provider do not cover:
// client credentials (client secret or private_key_jwt), the JWT bearer grant with an identity
// assertion grant (ID-JAG) issued by a token exchange at an "enterprise IdP" it also plays, and
// the authorization code flow for a client identified by a Client ID Metadata Document. It
// publishes OpenID Connect discovery only, so clients must fall back to it.
import { createHash, randomBytes } from 'node:crypto';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { type CryptoKey, decodeJwt, importSPKI, jwtVerify, SignJWT } from 'jose';

export interface RecordedRequest {
  readonly path: string;
  readonly form: Record<string, string>;
  readonly authorization: string | undefined;
  readonly status: number;
}

export interface SmallAuthorizationServer {
  readonly issuer: string;
  readonly requests: RecordedRequest[];
  /** Tokens it issued: whose (`subject`) and which scopes. */
  readonly tokens: Map<string, { subject: string; scopes: string[] }>;
  stop(): Promise<void>;
}

export interface SmallAuthorizationServerOptions {
  /** Confidential clients: id → secret. */
  readonly secrets?: Readonly<Record<string, string>>;
  /** private_key_jwt clients: id → SPKI PEM public key. */
  readonly publicKeys?: Readonly<Record<string, string>>;
  /** The IdP's users: subject token → subject. */
  readonly identityTokens?: Readonly<Record<string, string>>;
  /** Client ID Metadata Documents it would fetch: URL → document. */
  readonly clientDocuments?: Readonly<Record<string, { redirect_uris: string[] }>>;
  /** The MCP server the tokens are for. */
  readonly resource: string;
}

const idJagSecret = new TextEncoder().encode('the-idp-and-the-as-share-this-key-in-tests');

export async function startSmallAuthorizationServer(
  options: SmallAuthorizationServerOptions,
): Promise<SmallAuthorizationServer> {
  const app = express();
  app.use(express.urlencoded({ extended: false }));
  const requests: RecordedRequest[] = [];
  const tokens = new Map<string, { subject: string; scopes: string[] }>();
  const codes = new Map<
    string,
    { client: string; challenge: string; redirect: string; resource: string | undefined }
  >();
  let issuer = '';
  app.use((request, response, next) => {
    response.on('finish', () => {
      if (request.method === 'POST')
        requests.push({
          path: request.path,
          form: { ...(request.body as Record<string, string>) },
          authorization: request.headers.authorization?.split(' ')[0],
          status: response.statusCode,
        });
    });
    next();
  });

  app.get('/.well-known/openid-configuration', (_request, response) => {
    response.json({
      issuer,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      jwks_uri: `${issuer}/jwks`,
      response_types_supported: ['code'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      grant_types_supported: [
        'authorization_code',
        'client_credentials',
        'urn:ietf:params:oauth:grant-type:jwt-bearer',
      ],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'private_key_jwt', 'none'],
      code_challenge_methods_supported: ['S256'],
      client_id_metadata_document_supported: true,
    });
  });

  // Auto-approves: the test plays the user; a client id that is a URL must be a known document.
  app.get('/authorize', (request, response) => {
    const query = request.query as Record<string, string>;
    const document = options.clientDocuments?.[query.client_id ?? ''];
    if (document === undefined || !document.redirect_uris.includes(query.redirect_uri ?? '')) {
      response.status(400).send('unknown client');
      return;
    }
    const code = randomBytes(16).toString('base64url');
    codes.set(code, {
      client: query.client_id ?? '',
      challenge: query.code_challenge ?? '',
      redirect: query.redirect_uri ?? '',
      resource: query.resource,
    });
    const back = new URL(query.redirect_uri ?? '');
    back.searchParams.set('code', code);
    back.searchParams.set('state', query.state ?? '');
    response.redirect(302, back.href);
  });

  /** The client the token request authenticates as, or undefined. */
  async function clientOf(request: express.Request): Promise<string | undefined> {
    const form = request.body as Record<string, string>;
    const basic = request.headers.authorization;
    if (basic?.startsWith('Basic ')) {
      const [id = '', secret] = Buffer.from(basic.slice(6), 'base64').toString().split(':');
      return options.secrets?.[id] === secret ? id : undefined;
    }
    if (form.client_assertion_type === 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
      const id = String(decodeJwt(form.client_assertion ?? '').sub);
      const pem = options.publicKeys?.[id];
      if (pem === undefined) return undefined;
      const key: CryptoKey = await importSPKI(pem, 'RS256');
      await jwtVerify(form.client_assertion ?? '', key, { issuer: id, subject: id, audience: issuer });
      return id;
    }
    if (form.client_id !== undefined && options.clientDocuments?.[form.client_id] !== undefined)
      return form.client_id;
    return undefined;
  }

  const issue = (subject: string, scopes: string[]) => {
    const access = randomBytes(16).toString('base64url');
    tokens.set(access, { subject, scopes });
    return { access_token: access, token_type: 'Bearer', expires_in: 3600, scope: scopes.join(' ') };
  };

  app.post('/token', async (request, response) => {
    const form = request.body as Record<string, string>;
    const client = await clientOf(request).catch(() => undefined);
    if (client === undefined) {
      response.status(401).json({ error: 'invalid_client' });
      return;
    }
    const scopes = (form.scope ?? '').split(' ').filter(Boolean);
    if (form.grant_type === 'client_credentials') {
      response.json(issue(`client:${client}`, scopes));
      return;
    }
    if (form.grant_type === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      try {
        const { payload } = await jwtVerify(form.assertion ?? '', idJagSecret, {
          audience: issuer,
          typ: 'oauth-id-jag+jwt',
        });
        if (payload.resource !== options.resource || payload.client_id !== client)
          throw new Error('not for this');
        response.json(issue(String(payload.sub), scopes));
      } catch {
        response.status(400).json({ error: 'invalid_grant' });
      }
      return;
    }
    if (form.grant_type === 'authorization_code') {
      const grant = codes.get(form.code ?? '');
      codes.delete(form.code ?? '');
      const challenge = createHash('sha256')
        .update(form.code_verifier ?? '')
        .digest('base64url');
      if (
        grant === undefined ||
        grant.client !== client ||
        grant.challenge !== challenge ||
        grant.redirect !== form.redirect_uri
      ) {
        response.status(400).json({ error: 'invalid_grant' });
        return;
      }
      response.json(issue(`user-of:${client}`, scopes));
      return;
    }
    response.status(400).json({ error: 'unsupported_grant_type' });
  });

  // The enterprise IdP's token exchange (RFC 8693): a user's ID token for an ID-JAG.
  app.post('/idp/token', async (request, response) => {
    const form = request.body as Record<string, string>;
    const subject = options.identityTokens?.[form.subject_token ?? ''];
    if (
      form.grant_type !== 'urn:ietf:params:oauth:grant-type:token-exchange' ||
      form.requested_token_type !== 'urn:ietf:params:oauth:token-type:id-jag' ||
      form.subject_token_type !== 'urn:ietf:params:oauth:token-type:id_token' ||
      subject === undefined
    ) {
      response.status(400).json({ error: 'invalid_request' });
      return;
    }
    const jag = await new SignJWT({ resource: form.resource, client_id: 'steward-at-as', scope: form.scope })
      .setProtectedHeader({ alg: 'HS256', typ: 'oauth-id-jag+jwt' })
      .setIssuer(`${issuer}/idp`)
      .setSubject(subject)
      .setAudience(form.audience ?? '')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(idJagSecret);
    response.json({
      access_token: jag,
      issued_token_type: 'urn:ietf:params:oauth:token-type:id-jag',
      token_type: 'N_A',
    });
  });

  const listening: HttpServer = await new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve(server));
  });
  issuer = `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
  return {
    issuer,
    requests,
    tokens,
    stop: () =>
      new Promise<void>((resolve) => {
        listening.closeAllConnections();
        listening.close(() => resolve());
      }),
  };
}
