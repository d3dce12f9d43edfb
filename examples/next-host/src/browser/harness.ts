import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';
import pg from 'pg';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Debian's Chromium. Never a browser download. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Whether the browser tests can run here. */
export const hasChromium = existsSync(chromiumPath);

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    chromiumSandbox: false,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
    ],
  });
}

/** Signs in through the identity provider's own pages, as a person would, and lands on /chat. */
export async function signIn(page: Page, appUrl: string, username: string): Promise<void> {
  await page.goto(`${appUrl}/login`);
  await page.getByRole('link', { name: 'Sign in with Steward ID' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill('steward');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  // The first sign-in of a user asks for consent; later ones go straight back.
  await page.waitForURL(
    (url) => url.pathname.startsWith('/chat') || url.pathname.startsWith('/interaction/'),
  );
  if (new URL(page.url()).pathname.startsWith('/interaction/'))
    await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL((url) => url.pathname.startsWith('/chat'));
}

/** The words the demo model streams for `count n`. */
export const words = (count: number) =>
  Array.from({ length: count }, (_, index) => `w${index + 1}`).join(' ');

/** The chat's pieces, as a person finds them. */
export function chatOf(page: Page) {
  const answers = page.locator('li[data-role="assistant"] .text');
  return {
    answers,
    lastAnswer: () =>
      answers
        .last()
        .textContent({ timeout: 20_000 })
        .then((text) => text ?? ''),
    status: () => page.getByRole('status').getAttribute('data-status'),
    async send(text: string) {
      await page.getByLabel('Message').fill(text);
      await page.getByRole('button', { name: 'Send' }).click();
    },
    /** Waits until the hook is idle again (the answer is complete, or stopped). */
    idle: () => page.locator('[role="status"][data-status="idle"]').waitFor({ timeout: 30_000 }),
  };
}

/** Drops the test's schema and deletes its Redis keys. */
export async function removeSharedState(options: {
  databaseUrl: string;
  schema: string;
  redisUrl: string;
  prefix: string;
}): Promise<void> {
  const admin = new pg.Client({ connectionString: options.databaseUrl });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(options.schema)} CASCADE`);
  await admin.end();
  const redis = new Redis(options.redisUrl, { protocol: 2 });
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${options.prefix}:*`, 'COUNT', 500);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  await redis.quit();
}
