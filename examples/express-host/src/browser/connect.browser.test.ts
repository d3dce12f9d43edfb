import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExpressHost, startExpressHost } from '../host.ts';
import { userIdOf } from '../identity/oidc.ts';
import { ended, expectAccessible, lastAnswer, send } from './core-flows.ts';
import { hasChromium, launchChromium, newContext, signIn, textOf } from './harness.ts';

// Connecting Gmail as the demo does it, in Chromium: the Gmail mock runs in OAuth mode with its
// own authorization server, each user connects their own mailbox on its sign-in and consent
// pages the first time a run needs it, and the run goes on with their own mail.
// Two full flows each: generous limits for a loaded CI machine.
let host: ExpressHost;
let browser: Browser;

beforeAll(async () => {
  if (!hasChromium) return;
  [host, browser] = await Promise.all([
    startExpressHost({ chunkDelayMs: 2, formWaitMs: 10_000, demoCalendar: false, demoDesk: false }),
    launchChromium(),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await host?.stop();
});

const connectLink = (page: Page) => page.getByRole('link', { name: 'Connect Gmail' });
const userId = (username: string) => userIdOf(host.identityProvider?.issuer ?? '', `user-${username}`);

/** At the mock's own pages: sign in with the password form, then Allow. */
async function authorizeAtGmail(page: Page, username: 'alice' | 'bob') {
  await page.waitForURL((url) => url.origin === host.gmail.url);
  await expect.poll(() => textOf(page.getByRole('heading', { level: 1 }))).toBe('Sign in to Gmail (mock)');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(`${username}-password`);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect.poll(() => textOf(page.getByRole('heading', { level: 1 }))).toContain('to use your Gmail?');
  await page.getByRole('button', { name: 'Allow' }).click();
}

/** Signs in, asks about the inbox, and waits for the card that asks to connect Gmail. */
async function askForInbox(username: 'alice' | 'bob') {
  const context = await newContext(browser);
  const page = await context.newPage();
  await signIn(page, host.url, username);
  await send(page, "What's in my inbox?");
  await connectLink(page).waitFor();
  return { context, page };
}

describe.skipIf(!hasChromium)('connecting Gmail in Chromium', () => {
  it('asks each user to connect, authorizes at the mock’s page, and answers from their own mailbox', async () => {
    // Alice: nobody has connected yet, so the model is offered only gmail__connect and calls it.
    const alice = await askForInbox('alice');
    const card = alice.page.locator('.tool-card').last();
    await expect.poll(() => textOf(card)).toContain('needs your Gmail account');
    await expectAccessible(alice.page);
    await connectLink(alice.page).click();
    await authorizeAtGmail(alice.page, 'alice');
    // Back in the conversation; the run went on: connected, then it read her inbox.
    await alice.page.waitForURL((url) => url.origin === host.url && url.pathname.startsWith('/chat/'));
    await expect.poll(() => textOf(lastAnswer(alice.page))).toContain('of 201 in the inbox');
    await ended(alice.page);
    expect(await textOf(alice.page.locator('main'))).toContain('Connected Gmail.');
    await expectAccessible(alice.page);
    expect(await host.registry.connections(userId('alice'))).toEqual([
      expect.objectContaining({ server: 'gmail', status: 'connected' }),
    ]);

    // Bob connects separately: his call of the fetch tool itself waits for his own account.
    const bob = await askForInbox('bob');
    await connectLink(bob.page).click();
    await authorizeAtGmail(bob.page, 'bob');
    await bob.page.waitForURL((url) => url.origin === host.url && url.pathname.startsWith('/chat/'));
    await expect.poll(() => textOf(lastAnswer(bob.page))).toContain('of 37 in the inbox');
    await ended(bob.page);

    // Alice's Tools page: her connection, and Disconnect.
    await alice.page.goto(`${host.url}/tools`);
    const gmailSection = alice.page.locator('.connection');
    await expect.poll(() => textOf(gmailSection)).toContain('Your account: Connected');
    await expectAccessible(alice.page);
    await alice.page.getByRole('button', { name: 'Disconnect Gmail' }).click();
    await expect.poll(() => textOf(alice.page.locator('main'))).toContain('Disconnected Gmail.');
    await expect.poll(() => textOf(gmailSection)).toContain('Your account: Not connected');
    await expectAccessible(alice.page);

    // The next inbox question asks her to connect again; "Not now" and the model says so.
    await alice.page.goto(`${host.url}/chat`);
    await send(alice.page, "What's in my inbox?");
    await connectLink(alice.page).waitFor();
    await alice.page.getByRole('button', { name: 'Not now' }).click();
    await expect.poll(() => textOf(lastAnswer(alice.page))).toContain('Gmail is not connected');
    await ended(alice.page);
    // Bob is still connected to his own mailbox.
    expect(await host.registry.connections(userId('bob'))).toEqual([
      expect.objectContaining({ server: 'gmail', status: 'connected' }),
    ]);
    await Promise.all([alice.context.close(), bob.context.close()]);
  }, 120_000);

  it('refuses bob on alice’s authorization link without using it up: alice still connects with it', async () => {
    await host.registry.disconnect({ server: 'gmail', userId: userId('alice') });
    await host.registry.disconnect({ server: 'gmail', userId: userId('bob') });
    const alice = await askForInbox('alice');
    const hostLink = (await connectLink(alice.page).getAttribute('href')) ?? '';
    await connectLink(alice.page).click();
    // The authorization server's URL, carrying alice's state: what an attacker would send on.
    await alice.page.waitForURL((url) => url.origin === host.gmail.url);
    const aliceAuthorizationUrl = alice.page.url();
    expect(new URL(aliceAuthorizationUrl).searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{16,}$/);

    const bobContext = await newContext(browser);
    const bob = await bobContext.newPage();
    await signIn(bob, host.url, 'bob');
    // The host's link to her waiting call is hers only.
    const foreign = await bob.goto(`${host.url}${hostLink}`);
    expect(foreign?.status()).toBe(409);
    // Bob opens the authorization server's link, signs in as himself and allows: his browser
    // comes back to the host with alice's state, and nothing is redeemed.
    await bob.goto(aliceAuthorizationUrl);
    await authorizeAtGmail(bob, 'bob');
    await bob.waitForURL((url) => url.origin === host.url && url.pathname === '/connections/callback');
    await expect.poll(() => textOf(bob.locator('main'))).toContain('not started from this browser');
    await expectAccessible(bob);
    expect(await host.registry.connections(userId('bob'))).toEqual([
      expect.objectContaining({ status: 'not_connected' }),
    ]);
    expect(await host.registry.connections(userId('alice'))).toEqual([
      expect.objectContaining({ status: 'not_connected' }),
    ]);

    // Alice finishes her own authorization with the same state, and reads her own mailbox.
    await authorizeAtGmail(alice.page, 'alice');
    await alice.page.waitForURL((url) => url.origin === host.url && url.pathname.startsWith('/chat/'));
    await expect.poll(() => textOf(lastAnswer(alice.page))).toContain('of 201 in the inbox');
    await Promise.all([alice.context.close(), bobContext.close()]);
  }, 120_000);
});
