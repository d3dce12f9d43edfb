import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectGmail } from '../connect-gmail.ts';
import { type ExpressHost, startExpressHost } from '../host.ts';
import { userIdOf } from '../identity/oidc.ts';
import type { RefreshTokenStore } from '../identity/refresh-tokens.ts';
import { composer, coreFlows, ended, expectAccessible, lastAnswer, send } from './core-flows.ts';
import { hasChromium, inViewport, launchChromium, newContext, signIn, textOf } from './harness.ts';

// The demo as a person uses it, in Debian's Chromium: sign-in through the identity provider's
// pages, the chat, every page, a phone's viewport, and axe-core on each of them.
let host: ExpressHost;
let browser: Browser;
/** Refresh tokens the sign-in handed to the host's store (which is the token vault's). */
const savedRefreshTokens: string[] = [];

beforeAll(async () => {
  if (!hasChromium) return;
  // Chunks 15 ms apart: slow enough to see an answer grow and to stop it, fast enough for CI.
  [host, browser] = await Promise.all([
    startExpressHost({ chunkDelayMs: 15, formWaitMs: 10_000 }).then(async (started) => {
      const vault: RefreshTokenStore = started.refreshTokens;
      const save = vault.save.bind(vault);
      vault.save = async (userId, token) => {
        savedRefreshTokens.push(token);
        await save(userId, token);
      };
      // Gmail is per user (OAuth): alice and bob connect their own mailboxes ahead, at the mock's
      // pages; connecting in the browser is connect.browser.test.ts's subject.
      const issuer = started.identityProvider?.issuer ?? '';
      for (const user of ['alice', 'bob'] as const)
        await connectGmail(started.registry, userIdOf(issuer, `user-${user}`), user);
      return started;
    }),
    launchChromium(),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await host?.stop();
});

describe.skipIf(!hasChromium)('the demo in Chromium', () => {
  // The flows pattern A must pass too (chat.remote.browser.test.ts runs them against an orchestrator in another process).
  coreFlows(
    () => ({ url: host.url, sentCount: () => host.gmail.mailbox.sent.length, savedRefreshTokens }),
    () => browser,
  );

  it('lists, opens and deletes conversations; shows tools; revokes an always-allow; exports and deletes data', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, host.url, 'bob');
    await page.goto(`${host.url}/chat/new`);
    await send(page, 'First question from bob');
    await ended(page);
    await page.getByRole('link', { name: 'New conversation' }).click();
    await send(page, 'Send an email to ada@engine.example saying always');
    await lastAnswer(page).getByRole('button', { name: 'Always allow' }).click();
    await ended(page);

    await page.getByRole('link', { name: 'Conversations' }).click();
    const titles = page.locator('.conversations .title');
    await expect.poll(() => textOf(titles.first())).toBe('Send an email to ada@engine.example saying always');
    await expect.poll(() => textOf(titles.nth(1))).toBe('First question from bob');
    await expectAccessible(page);
    await titles.nth(1).click();
    await expect.poll(() => textOf(page.locator('article.user'))).toBe('First question from bob');
    await page.goto(`${host.url}/conversations`);
    await page.getByRole('button', { name: 'Delete “First question from bob”' }).click();
    await expect.poll(() => titles.count()).toBe(1);

    await page.getByRole('link', { name: 'Tools' }).click();
    await expect.poll(() => textOf(page.getByRole('heading', { name: /Gmail/ }))).toContain('Connected');
    await expect.poll(() => textOf(page.locator('.server'))).toContain('Circuit breaker: closed');
    await expect
      .poll(() => textOf(page.locator('.tools li', { hasText: 'Send email' })))
      .toContain('Asks first');
    await expect
      .poll(() => textOf(page.locator('.tools li', { hasText: 'Fetch emails' })))
      .toContain('Runs without asking');
    await expectAccessible(page);

    await page.getByRole('link', { name: 'Settings' }).click();
    await expect.poll(() => textOf(page.locator('main'))).toContain('Send email (Gmail)');
    await expect.poll(() => textOf(page.locator('.usage'))).toContain('Answers');
    await expectAccessible(page);
    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Download my data (JSON)' }).click();
    const exported = JSON.parse(
      await (await (await download).createReadStream())
        .toArray()
        .then((chunks) => Buffer.concat(chunks).toString('utf8')),
    ) as { conversations: { title: string }[]; permissions: unknown[] };
    expect(exported.conversations.map((conversation) => conversation.title)).toEqual([
      'Send an email to ada@engine.example saying always',
    ]);
    expect(exported.permissions).toHaveLength(1);
    await page.getByRole('button', { name: 'Revoke Send email (Gmail)' }).click();
    await expect.poll(() => textOf(page.getByRole('status'))).toContain('Revoked');

    await page.getByLabel('I understand this cannot be undone').check();
    await page.getByRole('button', { name: 'Delete my data' }).click();
    await expect.poll(() => textOf(page.getByRole('heading', { level: 1 }))).toBe('Your data is deleted');
    await page.goto(`${host.url}/conversations`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await context.close();
  });

  it('lets the admin test and register a server from the form, with inline errors', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, host.url, 'alice');
    await page.goto(`${host.url}/admin/servers`);
    await expect.poll(() => textOf(page.getByRole('heading', { level: 1 }))).toBe('Administrators only');
    await context.close();

    const admin = await (await newContext(browser)).newPage();
    await signIn(admin, host.url, 'admin');
    await admin.getByRole('link', { name: 'Register a server' }).click();
    await expectAccessible(admin);
    await admin.getByLabel('Name').fill('calendar');
    await admin.getByLabel('URL').fill('http://127.0.0.1:9/mcp');
    await admin.getByRole('button', { name: 'Register' }).click();
    await expect.poll(() => textOf(admin.locator('#error-url'))).toContain('allowedOrigins');
    await expect.poll(() => admin.getByLabel('URL').getAttribute('aria-invalid')).toBe('true');
    await expectAccessible(admin);

    await admin.getByLabel('URL').fill(host.calendar?.mcpUrl ?? '');
    await admin.getByRole('button', { name: 'Test connection' }).click();
    await expect.poll(() => textOf(admin.locator('.tested'))).toContain('List upcoming events');
    // Nothing registered by testing (the order: shared servers, then the per-user Gmail).
    expect(host.registry.status().map((server) => server.name)).toEqual(['desk', 'gmail']);
    await admin.getByRole('button', { name: 'Register' }).click();
    await expect.poll(() => textOf(admin.getByRole('status'))).toContain('Registered calendar');
    await admin.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tools' }).click();
    await expect
      .poll(() => textOf(admin.locator('.tools li', { hasText: 'Create an event' })))
      .toContain('Asks first');
    await admin.context().close();
  });

  it('fits a 390×844 phone and passes axe there', async () => {
    const context = await newContext(browser, { mobile: true });
    const page = await context.newPage();
    await signIn(page, host.url, 'alice');
    await send(page, "What's in my inbox?");
    await ended(page);
    for (const path of ['/chat', '/conversations', '/tools', '/settings']) {
      await page.goto(`${host.url}${path}`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `horizontal overflow on ${path}`).toBeLessThanOrEqual(0);
      await expectAccessible(page);
    }
    await page.goto(`${host.url}/chat`);
    await expect.poll(() => inViewport(composer(page))).toBe(true);
    await context.close();
  });
});
