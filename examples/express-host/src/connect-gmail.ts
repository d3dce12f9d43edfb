import { cookieOf, formFields, postForm } from '@steward/example-mcp-gmail/testing';
import type { McpRegistry } from '@steward/mcp';

/**
 * Connects `userId`'s Gmail to the mock mailbox of `account` the way a browser would, without
 * one: the registry starts the authorization, the mock's sign-in and consent forms are posted
 * (signed in as `account`, Allow), and the callback's code is completed as `userId`. For the
 * walkthrough and for tests whose subject is not connecting (the browser test of the real flow
 * is `src/browser/connect.browser.test.ts`).
 */
export async function connectGmail(
  registry: Pick<McpRegistry, 'beginAuthorization' | 'completeAuthorization'>,
  userId: string,
  account: 'alice' | 'bob',
): Promise<void> {
  const { authorizationUrl, state } = await registry.beginAuthorization({ server: 'gmail', userId });
  const origin = new URL(authorizationUrl).origin;
  const signInPage = await fetch(authorizationUrl, { redirect: 'manual' });
  if (signInPage.status !== 200) throw new Error(`The mock's sign-in page answered ${signInPage.status}`);
  const cookie = cookieOf(signInPage);
  const consentPage = await postForm(
    `${origin}/consent/sign-in`,
    { ...formFields(await signInPage.text()), demo_user: account },
    { cookie },
  );
  const decided = await postForm(
    `${origin}/consent`,
    { ...formFields(await consentPage.text()), decision: 'allow' },
    { cookie },
  );
  const back = new URL(decided.headers.get('location') ?? '', origin);
  const code = back.searchParams.get('code');
  if (decided.status !== 303 || code === null || back.searchParams.get('state') !== state)
    throw new Error(`The mock's consent did not come back with a code (${decided.status})`);
  await registry.completeAuthorization({ state, code, userId });
}
