import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/** A person who can sign in at the identity provider. */
export interface IdentityUser {
  /** The stable subject (`sub`) of their tokens. */
  readonly id: string;
  /** What they type on the sign-in page. */
  readonly username: string;
  readonly password: string;
  readonly name: string;
  readonly email: string;
  /** The `roles` claim (scope `roles`): `admin` may register tools in the Express host. */
  readonly roles: readonly string[];
}

/** @internal */
export const identityUserSchema = z
  .object({
    id: z.string().min(1).max(255),
    username: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[\p{L}\p{N}._@-]+$/u),
    password: z.string().min(1).max(256),
    name: z.string().min(1).max(200),
    email: z.email(),
    roles: z.array(z.string().min(1).max(64)).max(20),
  })
  .strict();

/** The password of every demo user, shown on the demo's sign-in page. */
export const demoPassword = 'steward';

/** Alice and Bob (users) and Ada (the administrator), as the demo's sign-in page lists them. */
export const demoUsers: readonly IdentityUser[] = [
  {
    id: 'user-alice',
    username: 'alice',
    password: demoPassword,
    name: 'Alice Adams',
    email: 'alice@example.com',
    roles: [],
  },
  {
    id: 'user-bob',
    username: 'bob',
    password: demoPassword,
    name: 'Bob Brown',
    email: 'bob@example.com',
    roles: [],
  },
  {
    id: 'user-admin',
    username: 'admin',
    password: demoPassword,
    name: 'Ada Admin',
    email: 'admin@example.com',
    roles: ['admin'],
  },
];

const same = (a: string, b: string) => {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
};

/** @internal The user a username and password name, compared in constant time; undefined otherwise. */
export function checkPassword(
  users: readonly IdentityUser[],
  username: string,
  password: string,
): IdentityUser | undefined {
  const user = users.find((candidate) => candidate.username === username.trim().toLowerCase());
  // Compare against something even for an unknown name, so timing does not tell names apart.
  const matched = same(user?.password ?? '\u0000never', password);
  return user !== undefined && matched ? user : undefined;
}

/** @internal The claims a user's tokens and userinfo carry, by scope (oidc-provider's `claims`). */
export function claimsOf(user: IdentityUser): { sub: string; [claim: string]: unknown } {
  return {
    sub: user.id,
    name: user.name,
    preferred_username: user.username,
    email: user.email,
    email_verified: true,
    roles: [...user.roles],
  };
}
