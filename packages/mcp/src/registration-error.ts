import { StewardError } from '@steward/core';

/**
 * Why a registration was refused, in `details.issues[].code` beside zod's own codes:
 *
 * - `transport_not_allowed`: it names a stdio command; only the operator's configuration may.
 * - `audience_not_allowed`: it chooses `serviceAuth.audience`; tokens go to the server's origin.
 * - `name_reserved`: the operator's configuration has a server of that name.
 * - `origin_not_allowed`: its URL's origin is not in `registrations.allowedOrigins`.
 * - `address_not_allowed`: its host is, or resolves to, a private, loopback, link-local or other
 *   non-public address outside `registrations.allowedNetworks`.
 * - `host_unresolved`: its host name does not resolve, so where it leads cannot be checked.
 * - `service_auth_unavailable`: it asks for `serviceAuth`, and the registry has no signer.
 * - `oauth_unavailable`: it asks for OAuth (`auth`), and the registry has no `oauth` settings.
 * - `credentials_missing`: its `client_credentials` auth has neither a client secret nor a key.
 */
export type RegistrationRefusal =
  | 'transport_not_allowed'
  | 'audience_not_allowed'
  | 'name_reserved'
  | 'origin_not_allowed'
  | 'address_not_allowed'
  | 'host_unresolved'
  | 'service_auth_unavailable'
  | 'oauth_unavailable'
  | 'credentials_missing';

/** @internal One refused field of a registration, as an `invalid_input` error like a schema failure. */
export function registrationRefused(
  path: readonly (string | number)[],
  code: RegistrationRefusal,
  message: string,
): StewardError {
  return new StewardError('invalid_input', `MCP server registration: ${path.join('.')}: ${message}`, {
    details: { issues: [{ path: [...path], code, message }] },
  });
}

/** @internal The refusal code of an error from {@link registrationRefused}, if it is one. */
export function refusalOf(error: unknown): RegistrationRefusal | undefined {
  if (!StewardError.isInstance(error) || error.code !== 'invalid_input') return undefined;
  const issues = error.details.issues;
  const first = Array.isArray(issues) ? (issues[0] as { code?: unknown } | undefined) : undefined;
  return typeof first?.code === 'string' ? (first.code as RegistrationRefusal) : undefined;
}
