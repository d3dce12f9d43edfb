import { SignJWT } from 'jose';

/**
 * A user JWT signed HS256 with `secret`, as a login provider would issue one: `sub` is the user,
 * extra claims (e.g. `roles`) go in `claims`. For tests against `createJwtAuth({ secret })`.
 */
export function signTestToken(options: {
  secret: string;
  userId: string;
  claims?: Record<string, unknown>;
  /** A jose time span such as `'5m'`, or `'-1m'` for an expired token. Default `'5m'`. */
  expiresIn?: string;
}): Promise<string> {
  return new SignJWT(options.claims ?? {})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(options.userId)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '5m')
    .sign(new TextEncoder().encode(options.secret));
}
