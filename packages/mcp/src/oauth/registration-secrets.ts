import type { McpServerRegistration } from '../registration.ts';
import { registrationRefused } from '../registration-error.ts';
import type { ResolvedOAuthOptions } from './oauth-options.ts';
import { sharedOwner, vaultKinds, writeRecord } from './vault-records.ts';

type WithAuth = { auth?: { clientSecret?: unknown; privateKey?: unknown } | undefined };

/** @internal `value` with its auth's client secret and private key left out (for lists, stores). */
export function withoutSecrets<Value extends WithAuth>(value: Value): Value {
  if (value.auth === undefined) return value;
  const { clientSecret: _secret, privateKey: _key, ...auth } = value.auth;
  return { ...value, auth };
}

/**
 * @internal Moves a registration's client secret or private key into the vault and returns the
 * row to store without them: a registration store is plain data. Removes an earlier secret of
 * the name when none is given.
 */
export async function storeRegistrationSecret(
  settings: ResolvedOAuthOptions,
  input: McpServerRegistration,
): Promise<McpServerRegistration> {
  const auth = input.auth;
  const ref = { userId: sharedOwner, kind: vaultKinds.clientSecret, name: input.name };
  const secret =
    auth === undefined
      ? undefined
      : { clientSecret: auth.clientSecret, privateKey: 'privateKey' in auth ? auth.privateKey : undefined };
  if (
    auth?.type === 'client_credentials' &&
    secret?.clientSecret === undefined &&
    secret?.privateKey === undefined
  )
    throw registrationRefused(
      ['auth', 'clientSecret'],
      'credentials_missing',
      'client_credentials needs a clientSecret or a privateKey',
    );
  if (secret?.clientSecret === undefined && secret?.privateKey === undefined)
    await settings.vault.delete(ref);
  else await writeRecord(settings.vault, ref, secret);
  return withoutSecrets(input);
}
