import { createHash } from 'node:crypto';
import { EncryptJWT, jwtDecrypt } from 'jose';
import { cookies } from 'next/headers';
import { z } from 'zod';
import { hostConfig } from './config.ts';

/** Who is signed in, as the session cookie says. */
export interface SignedInUser {
  /** The Steward user id: the subject of every token this host issues. */
  readonly userId: string;
  readonly name: string;
}

const sessionCookie = 'steward_next_session';
const pendingCookie = 'steward_next_signin';
/** A session ends 8 hours after sign-in. */
const sessionSeconds = 8 * 60 * 60;

const userSchema = z.object({ userId: z.string().min(1), name: z.string() });
const pendingSchema = z.object({
  state: z.string(),
  nonce: z.string(),
  codeVerifier: z.string(),
});
export type PendingSignIn = z.infer<typeof pendingSchema>;

// The cookie holds the session itself, encrypted (A256GCM): no server-side store to share.
const key = () => createHash('sha256').update(hostConfig().sessionSecret).digest();

async function seal(payload: Record<string, unknown>, seconds: number): Promise<string> {
  return new EncryptJWT(payload)
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
    .setIssuedAt()
    .setExpirationTime(`${seconds}s`)
    .encrypt(key());
}

async function open<T>(schema: z.ZodType<T>, value: string | undefined): Promise<T | undefined> {
  if (value === undefined) return undefined;
  try {
    const { payload } = await jwtDecrypt(value, key());
    const parsed = schema.safeParse(payload);
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined; // Expired, tampered with, or sealed under another secret: signed out.
  }
}

const cookieOptions = (maxAge: number) => ({
  httpOnly: true,
  sameSite: 'lax' as const,
  secure: hostConfig().appUrl.startsWith('https:'),
  path: '/',
  maxAge,
});

/** The signed-in user, or undefined. */
export async function currentUser(): Promise<SignedInUser | undefined> {
  return open(userSchema, (await cookies()).get(sessionCookie)?.value);
}

export async function signInAs(user: SignedInUser): Promise<void> {
  (await cookies()).set(
    sessionCookie,
    await seal({ ...user }, sessionSeconds),
    cookieOptions(sessionSeconds),
  );
}

export async function signOut(): Promise<void> {
  (await cookies()).delete(sessionCookie);
}

/** Keeps state, nonce and PKCE verifier until the provider sends the browser back (10 minutes). */
export async function rememberSignIn(pending: PendingSignIn): Promise<void> {
  (await cookies()).set(pendingCookie, await seal({ ...pending }, 600), cookieOptions(600));
}

/** The sign-in under way, once: the cookie is removed as it is read. */
export async function takeSignIn(): Promise<PendingSignIn | undefined> {
  const store = await cookies();
  const pending = await open(pendingSchema, store.get(pendingCookie)?.value);
  store.delete(pendingCookie);
  return pending;
}
