import type { Browser, Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { axeViolations, newContext, signIn, textOf } from './harness.ts';

/** @internal What the core flows need of a running host, whichever mode it runs in. */
export interface FlowTarget {
  /** The pages' base URL. */
  readonly url: string;
  /** Emails the Gmail mock (the orchestrator's, in or out of process) has sent so far. */
  sentCount(): number;
  /** Refresh tokens the sign-in handed to the host's vault, when the test records them. */
  readonly savedRefreshTokens?: readonly string[];
}

/** @internal The chat as the page's script drives it: a few helpers every flow uses. */
export const composer = (page: Page) => page.getByRole('textbox', { name: 'Message' });
export const lastAnswer = (page: Page) => page.locator('article.assistant').last();
export async function send(page: Page, text: string) {
  await composer(page).fill(text);
  await composer(page).press('Enter');
}
export const ended = (page: Page) => lastAnswer(page).and(page.locator('[data-stop-reason]')).waitFor();
export async function expectAccessible(page: Page) {
  expect(await axeViolations(page), `axe on ${new URL(page.url()).pathname}`).toEqual([]);
}

/**
 * @internal The flows both modes must pass, the same page and script over either backend
 * (in process, or pattern A against an orchestrator in another process): sign-in, an answer
 * seen streaming, tool cards, approve and deny against the Gmail mock's count, stop and retry,
 * reload mid-answer and a second tab, two users kept apart, history reopened, and the no-script
 * forms. Call inside a `describe`, with getters that read the suite's `beforeAll` results.
 */
export function coreFlows(target: () => FlowTarget, browser: () => Browser): void {
  it('signs alice in through the provider, streams an answer progressively, and renders a readable tool card', async () => {
    const { url, savedRefreshTokens } = target();
    const context = await newContext(browser());
    const page = await context.newPage();
    await page.goto(`${url}/login`);
    await expectAccessible(page);
    await signIn(page, url, 'alice');
    await expect.poll(() => textOf(page.getByRole('heading', { level: 1 }))).toBe('New conversation');
    await expect
      .poll(() => textOf(page.getByRole('navigation', { name: 'Main' })))
      .toContain('Conversations');
    await expect.poll(() => textOf(page.locator('.who'))).toBe('Alice Adams');
    if (savedRefreshTokens !== undefined) {
      // The provider's refresh token went to the vault, never to the page.
      expect(savedRefreshTokens).toHaveLength(1);
      expect(await page.content()).not.toContain(savedRefreshTokens[0]);
    }
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
    const { url, sentCount } = target();
    const context = await newContext(browser());
    const page = await context.newPage();
    await signIn(page, url, 'alice');
    const sentBefore = sentCount();

    await send(page, 'Send an email to ada@engine.example saying the report is ready');
    const card = lastAnswer(page).locator('.tool-card');
    await expect.poll(() => textOf(card.locator('.tool-status'))).toBe('Waiting for your approval');
    await expect.poll(() => textOf(card.locator('.tool-title'))).toBe('Send email');
    await expect.poll(() => textOf(card.locator('.tool-args'))).toContain('Toada@engine.example');
    await expectAccessible(page);
    expect(sentCount()).toBe(sentBefore);
    await card.getByRole('button', { name: 'Approve', exact: true }).click();
    await ended(page);
    await expect.poll(() => textOf(lastAnswer(page))).toContain('Done: the email is sent');
    expect(sentCount()).toBe(sentBefore + 1);

    await send(page, 'Send an email to bob@example.com saying never mind');
    const second = lastAnswer(page).locator('.tool-card');
    await second.getByRole('button', { name: 'Deny' }).click();
    await ended(page);
    await expect.poll(() => textOf(second.locator('.tool-status'))).toBe('Denied');
    await expect
      .poll(() => textOf(second.locator('.tool-result')))
      .toBe('You denied this, so it did not run.');
    expect(await textOf(lastAnswer(page))).not.toContain('tool_denied');
    expect(sentCount()).toBe(sentBefore + 1);
    await context.close();
  });

  it('stops a streaming answer with Esc (the partial answer stays, marked stopped), then retries it', async () => {
    const { url } = target();
    const context = await newContext(browser());
    const page = await context.newPage();
    await signIn(page, url, 'alice');
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

    const answers = await page.locator('article.assistant').count();
    await lastAnswer(page).getByRole('button', { name: 'Retry' }).click();
    // The retry's own turn, not the stopped one, must end.
    await expect.poll(() => page.locator('article.assistant').count()).toBe(answers + 1);
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
    const { url } = target();
    const context = await newContext(browser());
    const first = await context.newPage();
    await signIn(first, url, 'alice');
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

  it('keeps users apart and reopens history: bob sees neither alice’s conversations nor one of hers by its address', async () => {
    const { url } = target();
    const alice = await (await newContext(browser())).newPage();
    await signIn(alice, url, 'alice');
    await alice.goto(`${url}/chat/new`);
    await send(alice, 'alice-private-marker');
    await ended(alice);
    const aliceUrl = alice.url();
    // Her history: the conversation is listed, and opens with its messages.
    await alice.goto(`${url}/conversations`);
    await alice.locator('.conversations .title', { hasText: 'alice-private-marker' }).first().click();
    await expect.poll(() => textOf(alice.locator('article.user'))).toBe('alice-private-marker');
    await expect.poll(() => textOf(lastAnswer(alice))).toContain('You said: alice-private-marker');

    const bob = await (await newContext(browser())).newPage();
    await signIn(bob, url, 'bob');
    await bob.goto(`${url}/conversations`);
    await expect.poll(() => textOf(bob.getByRole('heading', { level: 1 }))).toBe('Conversations');
    expect(await textOf(bob.locator('main'))).not.toContain('alice-private-marker');
    await bob.goto(aliceUrl);
    expect(await textOf(bob.locator('main'))).not.toContain('alice-private-marker');
    await alice.context().close();
    await bob.context().close();
  });

  it('works without JavaScript: send, approve and read the answer through plain forms', async () => {
    const { url, sentCount } = target();
    const scripted = await newContext(browser());
    const signer = await scripted.newPage();
    await signIn(signer, url, 'alice');
    const cookies = await scripted.cookies();
    await scripted.close();
    const context = await newContext(browser(), { javaScript: false });
    await context.addCookies(cookies);
    const page = await context.newPage();
    await page.goto(`${url}/chat/new`);
    const sentBefore = sentCount();
    await composer(page).fill('Send an email to ada@engine.example saying no script needed');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByRole('button', { name: 'Approve', exact: true }).click();
    await expect.poll(() => textOf(lastAnswer(page))).toContain('Done: the email is sent');
    expect(sentCount()).toBe(sentBefore + 1);
    await context.close();
  });
}
