import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExpressHost, startExpressHost } from '../host.ts';
import { axeViolations, hasChromium, launchChromium, newContext, signIn, textOf } from './harness.ts';

// A real MCP server asks the user in the middle of its call (elicitation): the office server's
// "Find a desk" sends a form, "Reserve parking" a link to its own page. The chat shows them in
// the tool's card, the answer goes back to the server, and the run goes on.
let host: ExpressHost;
let browser: Browser;

beforeAll(async () => {
  if (!hasChromium) return;
  [host, browser] = await Promise.all([
    startExpressHost({ chunkDelayMs: 5, formWaitMs: 10_000, demoCalendar: false }),
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

describe.skipIf(!hasChromium)('a tool asks the user (MCP elicitation) in Chromium', () => {
  it('renders the server’s form from its schema, refuses what does not fit, and sends the answer to the tool', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, host.url, 'alice');
    await send(page, 'Find me a desk');
    const card = lastAnswer(page).locator('.tool-card');
    const form = card.getByRole('form', { name: /Desk asks: Where and when would you like to sit\?/ });
    await form.waitFor();
    await expect.poll(() => textOf(card.locator('.tool-status'))).toBe('Waiting for your answer');
    // Every kind of field, with the server's titles, descriptions, defaults and limits.
    await expect.poll(() => form.getByLabel('Building').inputValue()).toBe('north');
    const floor = form.getByLabel('Floor');
    expect(await floor.getAttribute('type')).toBe('number');
    expect(await floor.getAttribute('max')).toBe('6');
    expect(await floor.getAttribute('required')).not.toBeNull();
    expect(await textOf(form.locator(`[id="${await floor.getAttribute('aria-describedby')}"]`))).toBe(
      'Any floor with desks. From 1 to 6.',
    );
    const days = form.getByRole('group', { name: /Days/ });
    expect(await days.getByRole('checkbox').count()).toBe(5);
    expect(await form.getByRole('checkbox', { name: 'Standing desk' }).isChecked()).toBe(false);
    await expect.poll(() => form.getByLabel('Near').inputValue()).toBe('');
    expect(await form.getByLabel('Note for the office team').getAttribute('maxlength')).toBe('200');
    // The run waits on the form, so it has the focus.
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.closest('form')?.className))
      .toBe('input-request');
    await expectAccessible(page);

    // No day chosen: the server's rule (at least one) comes back on the field, and the form stays.
    await floor.fill('3');
    await form.getByRole('button', { name: 'Send' }).click();
    await expect.poll(() => textOf(days.locator('.field-error'))).toBe('Choose at least 1.');
    expect(await days.getAttribute('aria-invalid')).toBe('true');
    expect(host.desk?.bookings).toHaveLength(0);
    await expectAccessible(page);

    await days.getByRole('checkbox', { name: 'Monday' }).check();
    await days.getByRole('checkbox', { name: 'Wednesday' }).check();
    await form.getByRole('checkbox', { name: 'Standing desk' }).check();
    await form.getByLabel('Near').selectOption({ label: 'Window' });
    await form.getByRole('button', { name: 'Send' }).click();
    await ended(page);
    await expect.poll(() => textOf(card.locator('.input-answer'))).toBe('You answered.');
    await expect.poll(() => textOf(card.locator('.tool-status'))).toBe('Done');
    await expect
      .poll(() => textOf(lastAnswer(page).locator('.text').last()))
      .toBe(
        'Desk 3.01 in the North building is booked for Monday, Wednesday (a standing desk), near the window.',
      );
    expect(host.desk?.bookings).toEqual([
      { building: 'north', floor: 3, days: ['Monday', 'Wednesday'], standing: true, area: 'Window' },
    ]);

    // After a reload the card says what became of the question, with no form left to answer.
    await page.reload();
    await expect.poll(() => textOf(lastAnswer(page).locator('.tool-card .tool-status'))).toBe('Done');
    expect(await lastAnswer(page).locator('form.input-request').count()).toBe(0);
    await context.close();
  });

  it('declines, and the tool hears no', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, host.url, 'bob');
    const before = host.desk?.bookings.length;
    await send(page, 'Find me a desk');
    const form = lastAnswer(page).locator('form.input-request');
    await form.getByRole('button', { name: 'Decline' }).click();
    await ended(page);
    await expect.poll(() => textOf(lastAnswer(page).locator('.input-answer'))).toBe('You declined.');
    await expect
      .poll(() => textOf(lastAnswer(page).locator('.text').last()))
      .toBe('No desk booked: the user declined.');
    expect(host.desk?.bookings.length).toBe(before);
    await context.close();
  });

  it('shows a link the user opens (URL mode), then goes on once they say they are done', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, host.url, 'alice');
    await send(page, 'Reserve parking for me');
    const form = lastAnswer(page).locator('form.input-request');
    const link = form.getByRole('link');
    await link.waitFor();
    const href = (await link.getAttribute('href')) ?? '';
    expect(href.startsWith(new URL(host.desk?.mcpUrl ?? '').origin)).toBe(true);
    expect(await textOf(link)).toBe(href);
    expect(await link.getAttribute('rel')).toBe('noopener noreferrer');
    await expectAccessible(page);
    const [parking] = await Promise.all([context.waitForEvent('page'), link.click()]);
    await parking.getByRole('button', { name: 'Confirm parking' }).click();
    await expect.poll(() => textOf(parking.getByRole('status'))).toContain('Confirmed');
    await parking.close();
    await form.getByRole('button', { name: 'Done' }).click();
    await ended(page);
    await expect
      .poll(() => textOf(lastAnswer(page).locator('.text').last()))
      .toBe('Parking space P-12 is reserved for today.');
    await context.close();
  });

  it('works without JavaScript: the server renders the form, and posting it answers the tool', async () => {
    const scripted = await newContext(browser);
    const signer = await scripted.newPage();
    await signIn(signer, host.url, 'alice');
    const cookies = await scripted.cookies();
    await scripted.close();
    const context = await newContext(browser, { javaScript: false });
    await context.addCookies(cookies);
    const page = await context.newPage();
    await page.goto(`${host.url}/chat/new`);
    await composer(page).fill('Find me a desk');
    await page.getByRole('button', { name: 'Send' }).click();
    const form = page.getByRole('form', { name: /Desk asks/ });
    await form.getByLabel('Building').selectOption('south');
    await form.getByLabel('Floor').fill('5');
    await form.getByRole('checkbox', { name: 'Friday' }).check();
    await form.getByRole('button', { name: 'Send' }).click();
    await expect
      .poll(() => textOf(lastAnswer(page)))
      .toContain('in the South building is booked for Friday.');
    expect(host.desk?.bookings.at(-1)).toEqual({
      building: 'south',
      floor: 5,
      days: ['Friday'],
      standing: false,
    });
    await context.close();
  });

  it('fits a 390×844 phone, and passes axe there', async () => {
    const context = await newContext(browser, { mobile: true });
    const page = await context.newPage();
    await signIn(page, host.url, 'bob');
    await send(page, 'Find me a desk');
    const form = lastAnswer(page).locator('form.input-request');
    await form.waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await expectAccessible(page);
    await form.getByRole('button', { name: 'Cancel' }).click();
    await ended(page);
    await expect
      .poll(() => textOf(lastAnswer(page).locator('.text').last()))
      .toBe('No desk booked: the user cancelled.');
    await context.close();
  });
});
