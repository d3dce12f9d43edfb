import type { OAuthDiscoveryState } from '@modelcontextprotocol/sdk/client/auth.js';
import type { TokenVault } from '@steward/core';
import type { FetchLike } from '../service-auth.ts';
import type { Challenge } from './authorization-needed.ts';
import type { ResolvedOAuthOptions, ResolvedServerAuth } from './oauth-options.ts';
import { clientSecretRecordSchema, readRecord, sharedOwner, vaultKinds } from './vault-records.ts';

/**
 * @internal One OAuth-protected server as the OAuth client sees it: its settings, the fetch its
 * authorization server requests go through, and what discovery found (kept in memory: it is
 * public, and any instance finds it again).
 */
export class ServerOAuth {
  readonly server: string;
  readonly serverUrl: string;
  readonly auth: ResolvedServerAuth;
  readonly settings: ResolvedOAuthOptions;
  readonly clientName: string;
  /** For discovery, registration and token requests: guarded for registrations. */
  readonly fetch: FetchLike;
  /** A registration's client secret or key lives in the vault, not in its stored row. */
  readonly secretInVault: boolean;
  readonly now: () => number;
  discovery: OAuthDiscoveryState | undefined;
  /** The last 401 challenge the server answered (its resource metadata URL and scope). */
  challenge: Challenge | undefined;

  constructor(fields: {
    server: string;
    serverUrl: string;
    auth: ResolvedServerAuth;
    settings: ResolvedOAuthOptions;
    clientName: string;
    fetch: FetchLike;
    secretInVault: boolean;
    now: () => number;
  }) {
    this.server = fields.server;
    this.serverUrl = fields.serverUrl;
    this.auth = fields.auth;
    this.settings = fields.settings;
    this.clientName = fields.clientName;
    this.fetch = fields.fetch;
    this.secretInVault = fields.secretInVault;
    this.now = fields.now;
  }

  get vault(): TokenVault {
    return this.settings.vault;
  }

  /** The pre-registered client's secret or private key: the configuration's, or the vault's. */
  async secret(): Promise<{
    clientSecret?: string | undefined;
    privateKey?: string | Record<string, unknown> | undefined;
  }> {
    const auth = this.auth;
    if (auth.type === 'token_exchange')
      return auth.clientSecret === undefined ? {} : { clientSecret: auth.clientSecret };
    const configured = {
      ...(auth.clientSecret === undefined ? {} : { clientSecret: auth.clientSecret }),
      ...(auth.type === 'client_credentials' && auth.privateKey !== undefined
        ? { privateKey: auth.privateKey }
        : {}),
    };
    if (!this.secretInVault) return configured;
    const stored = await readRecord(
      this.vault,
      { userId: sharedOwner, kind: vaultKinds.clientSecret, name: this.server },
      clientSecretRecordSchema,
    );
    return { ...configured, ...stripUndefined(stored ?? {}) };
  }
}

const stripUndefined = <Value extends object>(value: Value) =>
  Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Value;
