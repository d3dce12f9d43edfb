import type { OAuthClientProvider, OAuthDiscoveryState } from '@modelcontextprotocol/sdk/client/auth.js';
import { createPrivateKeyJwtAuth } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import type { ServerOAuth } from './server-oauth.ts';
import {
  readRecord,
  scopeList,
  sharedOwner,
  type TokenRecord,
  tokenRecordSchema,
  vaultKinds,
  writeRecord,
} from './vault-records.ts';

/**
 * @internal What the provider is used for. `begin` starts an authorization (the SDK's `auth()`
 * discovers, registers the client and builds the URL; no stored tokens are offered, so it never
 * refreshes instead); `exchange` redeems a code with the stored PKCE verifier; `machine` fetches a
 * token without a browser (client credentials, token exchange), `grant` saying how.
 */
export type ProviderMode =
  | { readonly kind: 'begin'; readonly state: string; readonly scopes: readonly string[] }
  | { readonly kind: 'exchange'; readonly codeVerifier: string; readonly scopes: readonly string[] }
  | { readonly kind: 'machine'; readonly grant: URLSearchParams; readonly scopes: readonly string[] };

const clientRef = (server: string) => ({ userId: sharedOwner, kind: vaultKinds.client, name: server });
/** @internal */
export const tokensRef = (server: string, userId: string) => ({
  userId,
  kind: vaultKinds.tokens,
  name: server,
});

/** @internal The user's token record for a server, if any. */
export const readTokens = (target: ServerOAuth, userId: string) =>
  readRecord(target.vault, tokensRef(target.server, userId), tokenRecordSchema);

/** @internal Stores tokens as the authorization server gave them, with when they expire. */
export async function saveTokenRecord(
  target: ServerOAuth,
  userId: string,
  tokens: OAuthTokens,
  requested: readonly string[],
  previous: TokenRecord | undefined,
  stepUp?: TokenRecord['stepUp'],
): Promise<TokenRecord> {
  const record: TokenRecord = {
    // A refresh that returns no new refresh token keeps the old one (RFC 6749 §6).
    tokens: {
      ...tokens,
      ...(tokens.refresh_token === undefined && previous?.tokens?.refresh_token !== undefined
        ? { refresh_token: previous.tokens.refresh_token }
        : {}),
    },
    ...(tokens.expires_in === undefined ? {} : { expiresAt: target.now() + tokens.expires_in * 1000 }),
    scopes: tokens.scope === undefined ? [...requested] : scopeList(tokens.scope),
    connectedAt: previous?.connectedAt ?? new Date(target.now()).toISOString(),
    ...(stepUp === undefined ? {} : { stepUp }),
  };
  await writeRecord(target.vault, tokensRef(target.server, userId), record);
  return record;
}

/**
 * @internal The SDK's `OAuthClientProvider` over the token vault, for one server and one user
 * (`*` for a machine token). Client registrations are per server and shared by users; tokens are
 * per user; discovery is the server's, in memory. Nothing here logs or throws a secret.
 */
export class VaultOAuthProvider implements OAuthClientProvider {
  readonly #target: ServerOAuth;
  readonly #userId: string;
  readonly #mode: ProviderMode;
  /** Where `auth()` sent the user, in `begin` mode. */
  authorizationUrl: URL | undefined;
  /** The PKCE verifier `auth()` made for that URL. */
  createdVerifier: string | undefined;
  addClientAuthentication?: NonNullable<OAuthClientProvider['addClientAuthentication']>;
  /** A Client ID Metadata Document's URL, for interactive flows where the registry has one. */
  clientMetadataUrl?: string;

  constructor(
    target: ServerOAuth,
    userId: string,
    mode: ProviderMode,
    privateKey?: string | Record<string, unknown>,
  ) {
    this.#target = target;
    this.#userId = userId;
    this.#mode = mode;
    const auth = target.auth;
    const documentUrl = target.settings.clientMetadataUrl;
    if (mode.kind !== 'machine' && documentUrl !== undefined) this.clientMetadataUrl = documentUrl;
    if (auth.type === 'client_credentials' && privateKey !== undefined)
      this.addClientAuthentication = createPrivateKeyJwtAuth({
        issuer: auth.clientId,
        subject: auth.clientId,
        privateKey,
        alg: auth.algorithm,
      });
  }

  get redirectUrl(): string | undefined {
    return this.#mode.kind === 'machine' ? undefined : this.#target.settings.redirectUrl;
  }

  get clientMetadata(): OAuthClientMetadata {
    const scope = this.#mode.scopes.join(' ');
    return {
      client_name: this.#target.clientName,
      redirect_uris: this.#mode.kind === 'machine' ? [] : [this.#target.settings.redirectUrl],
      grant_types: this.#mode.kind === 'machine' ? [] : ['authorization_code', 'refresh_token'],
      response_types: this.#mode.kind === 'machine' ? [] : ['code'],
      token_endpoint_auth_method: this.#registrationAuthMethod(),
      ...(scope === '' ? {} : { scope }),
    };
  }

  state(): string {
    if (this.#mode.kind !== 'begin') throw new Error('No authorization is being started');
    return this.#mode.state;
  }

  async clientInformation(): Promise<OAuthClientInformationMixed | undefined> {
    const auth = this.#target.auth;
    const stored = (await this.#target.vault.get(clientRef(this.#target.server))) as
      | OAuthClientInformationMixed
      | undefined;
    const configuredId = auth.clientId;
    if (configuredId === undefined) return stored ?? undefined;
    // A pre-registered client: its stored copy (stamped with its authorization server) when it
    // is still the configured one, else the configuration.
    if (stored?.client_id === configuredId) return stored;
    const { clientSecret } = await this.#target.secret();
    return {
      client_id: configuredId,
      ...(clientSecret === undefined ? {} : { client_secret: clientSecret }),
      ...(auth.type === 'oauth' && auth.tokenEndpointAuthMethod !== undefined
        ? { token_endpoint_auth_method: auth.tokenEndpointAuthMethod }
        : {}),
    } as OAuthClientInformationMixed;
  }

  async saveClientInformation(information: OAuthClientInformationMixed): Promise<void> {
    await writeRecord(this.#target.vault, clientRef(this.#target.server), information);
  }

  async tokens(): Promise<OAuthTokens | undefined> {
    // Starting an authorization never reuses what is stored: the user is asked, on purpose.
    if (this.#mode.kind === 'begin') return undefined;
    return (await readTokens(this.#target, this.#userId))?.tokens as OAuthTokens | undefined;
  }

  async saveTokens(tokens: OAuthTokens): Promise<void> {
    const previous = await readTokens(this.#target, this.#userId);
    await saveTokenRecord(this.#target, this.#userId, tokens, this.#mode.scopes, previous);
  }

  redirectToAuthorization(authorizationUrl: URL): void {
    this.authorizationUrl = authorizationUrl;
  }

  saveCodeVerifier(codeVerifier: string): void {
    this.createdVerifier = codeVerifier;
  }

  codeVerifier(): string {
    if (this.#mode.kind !== 'exchange') throw new Error('No authorization is being completed');
    return this.#mode.codeVerifier;
  }

  async invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): Promise<void> {
    if (scope === 'all' || scope === 'client')
      await this.#target.vault.delete(clientRef(this.#target.server));
    if (scope === 'all' || scope === 'tokens')
      await this.#target.vault.delete(tokensRef(this.#target.server, this.#userId));
    if (scope === 'all' || scope === 'discovery') this.#target.discovery = undefined;
  }

  prepareTokenRequest(): URLSearchParams | undefined {
    return this.#mode.kind === 'machine' ? new URLSearchParams(this.#mode.grant) : undefined;
  }

  discoveryState(): OAuthDiscoveryState | undefined {
    return this.#target.discovery;
  }

  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.#target.discovery = state;
  }

  /**
   * The method asked for at dynamic registration: the configured one, else the first of
   * `client_secret_basic`, `client_secret_post`, `none` the authorization server supports (Basic
   * when its metadata says nothing, RFC 8414 §2). Steward is a server, so a confidential client.
   */
  #registrationAuthMethod(): string {
    const auth = this.#target.auth;
    if (auth.type === 'oauth' && auth.tokenEndpointAuthMethod !== undefined)
      return auth.tokenEndpointAuthMethod;
    const supported =
      this.#target.discovery?.authorizationServerMetadata?.token_endpoint_auth_methods_supported;
    if (supported === undefined || supported.length === 0) return 'client_secret_basic';
    return (
      ['client_secret_basic', 'client_secret_post', 'none'].find((method) => supported.includes(method)) ??
      'client_secret_basic'
    );
  }
}

export { sharedOwner };
