import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExpressHost, startExpressHost } from '../host.ts';
import type { RefreshTokenStore } from '../identity/refresh-tokens.ts';
import {
  axeViolations,
  hasChromium,
  inViewport,
  launchChromium,
  newContext,
  signIn,
  textOf,
} from './harness.ts';

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
    startExpressHost({ chunkDelayMs: 15, formWaitMs: 10_000 }).then((started) => {
      const vault: RefreshTokenStore = started.refreshTokens;
      const save = vault.save.bind(vault);
      vault.save = async (userId, token) => {
        savedRefreshTokens.push(token);
        await save(userId, token);
      };
      return started;
    }),
    launchChromium(),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await host?.stop();
});

const composer = (page: Page) => page.getByRole('textbox', { name: 'Message' });
const lastAnswer = (page: Page) => page.locator('article.assistant').last();
async function send(page: Page, text: string) {
  await composer(page).fill(text);
  await composer(page).press('Enter');
}
const ended = (page: Page) => lastAnswer(page).and(page.locator('[data-stop-reason]')).waitFor();

async function expectAccessible(page: Page) {
  expect(await axeViolations(page), `axe on ${new URL(page.url()).pathname}`).toEqual([]);
}

describe.skipIf(!hasChromium)('the demo in Chromium', () => {
  it('signs alice in through the provider, streams an answer progressively, and renders a readable tool card', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await page.goto(`${host.url}/login`);
    await expectAccessible(page);
    await signIn(page, host.url, 'alice');
    await expect.poll(() => textOf(page.getByRole('heading', { level: 1 }))).toBe('New conversation');
    await expect
      .poll(() => textOf(page.getByRole('navigation', { name: 'Main' })))
      .toContain('Conversations');
    await expect.poll(() => textOf(page.locator('.who'))).toBe('Alice Adams');
    // The provider's refresh token went to the vault, never to the page.
    expect(savedRefreshTokens).toHaveLength(1);
    expect(await page.content()).not.toContain(savedRefreshTokens[0]);
    await expectAccessible(page);

    // Sample the answer's length as it streams: it must be seen growing, not appear at once.
    await page.evaluate(() => {
      const lengths: number[] = [];
      (globalThis as unknown as { lengths: number[] }).lengths = lengths;
      new MutationObserver(() => {
        const text = Array.from(
          document.querySelectorAll('article.assistant .text'),
          (node) => node.textContent,
        ).join('');
        if (lengths.at(-1) !== text.length) lengths.push(text.length);
      }).observe(document.getElementById('transcript') as Node, {
        subtree: true,
        childList: true,
        characterData: true,
      });
    });
    await send(page, "What's in my inbox?");
    await ended(page);
    const lengths = await page.evaluate(() => (globalThis as unknown as { lengths: number[] }).lengths);
    expect(new Set(lengths).size).toBeGreaterThan(10);
    await expect.poll(() => textOf(lastAnswer(page))).toContain('Here are your 5 newest emails');

    const card = lastAnswer(page).locator('.tool-card');
    await expect.poll(() => textOf(card.locator('.tool-title'))).toBe('Fetch emails');
    await expect.poll(() => textOf(card.locator('.tool-server'))).toBe('Gmail');
    await expect.poll(() => textOf(card.locator('.tool-status'))).toBe('Done');
    await expect.poll(() => textOf(card.locator('.tool-args'))).toContain('FoldersINBOX');
    expect(await textOf(card.locator('.tool-args'))).not.toContain('me');
    await card.locator('.tool-raw pre').waitFor({ state: 'hidden' });
    await card.getByText('Details').click();
    await expect.poll(() => textOf(card.locator('.tool-raw pre'))).toContain('"user_id": "me"');
    await expectAccessible(page);

    // The announcer (aria-live) says the answer once it is complete.
    await expect.poll(() => textOf(page.locator('#announcer'))).toContain('Here are your 5 newest emails');
    await context.close();
  });

  it('approves one email and denies another, with the Gmail mock counting exactly one sent', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, host.url, 'alice');
    const sentBefore = host.gmail.mailbox.sent.length;

    await send(page, 'Send an email to ada@engine.example saying the report is ready');
    const card = lastAnswer(page).locator('.tool-card');
    await expect.poll(() => textOf(card.locator('.tool-status'))).toBe('Waiting for your approval');
    await expect.poll(() => textOf(card.locator('.tool-title'))).toBe('Send email');
    await expect.poll(() => textOf(card.locator('.tool-args'))).toContain('Toada@engine.example');
    await expectAccessible(page);
    expect(host.gmail.mailbox.sent.length).toBe(sentBefore);
    await card.getByRole('button', { name: 'Approve', exact: true }).click();
    await ended(page);
    await expect.poll(() => textOf(lastAnswer(page))).toContain('Done: the email is sent');
    expect(host.gmail.mailbox.sent.length).toBe(sentBefore + 1);

    await send(page, 'Send an email to bob@example.com saying never mind');
    const second = lastAnswer(page).locator('.tool-card');
    await second.getByRole('button', { name: 'Deny' }).click();
    await ended(page);
    await expect.poll(() => textOf(second.locator('.tool-status'))).toBe('Denied');
    await expect
      .poll(() => textOf(second.locator('.tool-result')))
      .toBe('You denied this, so it did not run.');
    expect(await textOf(lastAnswer(page))).not.toContain('tool_denied');
    expect(host.gmail.mailbox.sent.length).toBe(sentBefore + 1);
    await context.close();
  });

  it('stops a streaming answer with Esc (the partial answer stays, marked stopped), then retries it', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, host.url, 'alice');
    await send(page, 'Tell me a story about the sea');
    await page.getByRole('button', { name: 'Stop' }).waitFor({ state: 'visible' });
    await lastAnswer(page).locator('.text').waitFor();
    await page.keyboard.press('Escape');
    await ended(page);
    await expect.poll(() => lastAnswer(page).getAttribute('data-stop-reason')).toBe('aborted');
    await expect.poll(() => textOf(lastAnswer(page).locator('.ending'))).toBe('Stopped.');
    const partial = (await lastAnswer(page).locator('.text').textContent()) ?? '';
    expect(partial.length).toBeGreaterThan(0);
    expect(partial).not.toContain('You said: Tell me a story about the sea');
    await page.getByRole('button', { name: 'Stop' }).waitFor({ state: 'hidden' });

    await lastAnswer(page).getByRole('button', { name: 'Retry' }).click();
    await ended(page);
    await expect.poll(() => lastAnswer(page).getAttribute('data-stop-reason')).toBe('stop');
    await expect.poll(() => textOf(lastAnswer(page))).toContain('You said: Tell me a story about the sea');
    // After a reload the stopped answer is still there, with the words of the page.
    await page.reload();
    await expect
      .poll(() => textOf(page.locator('article.assistant[data-stop-reason="aborted"] .ending')))
      .toBe('Stopped.');
    await context.close();
  });

  it('streams the rest of an answer after a reload mid-answer, and into a second tab live', async () => {
    const context = await newContext(browser);
    const first = await context.newPage();
    await signIn(first, host.url, 'alice');
    const second = await context.newPage();
    await second.goto(first.url());
    await second.getByRole('textbox', { name: 'Message' }).waitFor();

    await send(first, "What's in my inbox?");
    // The other tab shows the question and the answer as they come.
    await expect.poll(() => textOf(second.locator('article.user').last())).toBe("What's in my inbox?");
    await lastAnswer(first).locator('.text').first().waitFor();
    await first.reload();
    await ended(first);
    await expect.poll(() => textOf(lastAnswer(first))).toContain('Here are your 5 newest emails');
    await ended(second);
    await expect.poll(() => textOf(lastAnswer(second))).toContain('Here are your 5 newest emails');
    await context.close();
  });

  it('keeps users apart: bob sees neither alice’s conversations nor one of hers by its address', async () => {
    const alice = await (await newContext(browser)).newPage();
    await signIn(alice, host.url, 'alice');
    await send(alice, 'alice-private-marker');
    await ended(alice);
    const aliceUrl = alice.url();

    const bob = await (await newContext(browser)).newPage();
    await signIn(bob, host.url, 'bob');
    await bob.goto(`${host.url}/conversations`);
    await expect.poll(() => textOf(bob.getByRole('heading', { level: 1 }))).toBe('Conversations');
    expect(await textOf(bob.locator('main'))).not.toContain('alice-private-marker');
    await bob.goto(aliceUrl);
    expect(await textOf(bob.locator('main'))).not.toContain('alice-private-marker');
    await alice.context().close();
    await bob.context().close();
  });

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
    expect(host.registry.status().map((server) => server.name)).toEqual(['gmail', 'desk']);
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

  it('works without JavaScript: send, approve and read the answer through plain forms', async () => {
    const scripted = await newContext(browser);
    const signer = await scripted.newPage();
    await signIn(signer, host.url, 'alice');
    const cookies = await scripted.cookies();
    await scripted.close();
    const context = await newContext(browser, { javaScript: false });
    await context.addCookies(cookies);
    const page = await context.newPage();
    await page.goto(`${host.url}/chat/new`);
    const sentBefore = host.gmail.mailbox.sent.length;
    await composer(page).fill('Send an email to ada@engine.example saying no script needed');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByRole('button', { name: 'Approve', exact: true }).click();
    await expect.poll(() => textOf(lastAnswer(page))).toContain('Done: the email is sent');
    expect(host.gmail.mailbox.sent.length).toBe(sentBefore + 1);
    await context.close();
  });
});
