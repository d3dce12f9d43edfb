import { StewardError } from '@steward/core';

const marker = Symbol.for('steward.service_token_error');

/**
 * Why a service token was refused.
 *
 * - `missing`: no token, or an `Authorization` header that is not `Bearer <token>`.
 * - `malformed`: not a JWT, or signed with an algorithm the verifier does not accept.
 * - `expired`: past its `exp` (beyond the clock tolerance), or older than `maxTokenAgeSeconds`.
 * - `not_yet_valid`: its `nbf` or `iat` lies in the future.
 * - `wrong_audience`: its `aud` does not name this server.
 * - `wrong_issuer`: its `iss` is not an accepted issuer.
 * - `bad_signature`: the signature does not verify: tampered, or signed with another key.
 * - `unknown_key`: no key in the JWKS matches its `kid` and algorithm, even after a refresh.
 * - `invalid_claims`: a required claim (`iss`, `sub`, `aud`, `iat`, `exp`) is missing or invalid.
 * - `keys_unavailable`: the JWKS could not be fetched or read; the token was not judged. Retryable.
 */
export type ServiceTokenFailure =
  | 'missing'
  | 'malformed'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_audience'
  | 'wrong_issuer'
  | 'bad_signature'
  | 'unknown_key'
  | 'invalid_claims'
  | 'keys_unavailable';

/**
 * Thrown by a {@link ServiceTokenVerifier} that refuses a token. Answer HTTP 401 with
 * `WWW-Authenticate: Bearer error="invalid_token"` for every `reason` except `keys_unavailable`,
 * which is the server's own trouble (503). The message never quotes the token or its claims, so it
 * can go back to the caller.
 *
 * `code` is `invalid_input` (`internal_error` for `keys_unavailable`); `reason` says more.
 */
export class ServiceTokenError extends StewardError {
  readonly reason: ServiceTokenFailure;
  readonly [marker] = true;

  constructor(reason: ServiceTokenFailure, message: string, options: { cause?: unknown } = {}) {
    super(reason === 'keys_unavailable' ? 'internal_error' : 'invalid_input', message, {
      retryable: reason === 'keys_unavailable',
      details: { reason },
      ...(options.cause === undefined ? {} : { cause: options.cause }),
    });
    this.reason = reason;
  }

  /** Checks the cross-realm marker, so the guard survives duplicate copies of this package. */
  static override isInstance(value: unknown): value is ServiceTokenError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[marker] === true;
  }
}
