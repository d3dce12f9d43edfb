// Regenerates docs/screenshots/*.png from the running demo in Debian's Chromium:
//   npm run screenshots -w @steward/example-express-host
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { launchChromium, newContext, signIn } from '../src/browser/harness.ts';
import { connectGmail } from '../src/connect-gmail.ts';
import { startExpressHost } from '../src/host.ts';
import { userIdOf } from '../src/identity/oidc.ts';

const out = fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url));
await mkdir(out, { recursive: true });
const host = await startExpressHost({ chunkDelayMs: 2 });
const browser = await launchChromium();
const shot = (page: Page, name: string) => page.screenshot({ path: `${out}${name}.png`, fullPage: false });
const ended = (page: Page) => page.locator('article.assistant[data-stop-reason]').last().waitFor();
const send = async (page: Page, text: string) => {
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await page.getByRole('textbox', { name: 'Message' }).press('Enter');
};
try {
  const context = await newContext(browser);
  const page = await context.newPage();
  await page.setViewportSize({ width: 1100, height: 800 });
  await page.goto(`${host.url}/login`);
  await shot(page, 'login');
  await page.getByRole('button', { name: 'Sign in with Steward ID' }).click();
  await page.getByLabel('Username').fill('admin');
  await shot(page, 'provider-sign-in');
  await page.getByLabel('Password').fill('steward');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'Allow' }).waitFor();
  await shot(page, 'provider-consent');
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL((url) => url.pathname.startsWith('/chat'));
  // Gmail is per user (OAuth): the first inbox question asks to connect it, at the mock's pages.
  await send(page, "What's in my inbox?");
  await page.getByRole('link', { name: 'Connect Gmail' }).waitFor();
  await shot(page, 'chat-connect');
  await page.getByRole('link', { name: 'Connect Gmail' }).click();
  await page.getByLabel('Username').fill('alice');
  await page.getByLabel('Password').fill('alice-password');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'Allow' }).waitFor();
  await shot(page, 'gmail-consent');
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL((url) => url.origin === host.url && url.pathname.startsWith('/chat/'));
  await ended(page);
  await send(page, 'Send an email to ada@engine.example saying the quarterly report is ready');
  await page.getByRole('button', { name: 'Approve', exact: true }).waitFor();
  await shot(page, 'chat-approval');
  await page.getByRole('button', { name: 'Always allow' }).click();
  await ended(page);
  // A tool of the office server asks the user (MCP elicitation): its form in the card.
  await page.goto(`${host.url}/chat/new`);
  await send(page, 'Find me a desk');
  await page.locator('form.input-request').waitFor();
  await page.getByLabel('Floor').fill('3');
  await page.getByRole('checkbox', { name: 'Monday' }).check();
  await shot(page, 'chat-input');
  await page.locator('form.input-request').getByRole('button', { name: 'Send' }).click();
  await ended(page);
  await page.goto(`${host.url}/conversations`);
  await shot(page, 'conversations');
  await page.goto(`${host.url}/tools`);
  await shot(page, 'tools');
  await page.goto(`${host.url}/settings`);
  await shot(page, 'settings');
  await page.goto(`${host.url}/admin/servers`);
  await page.getByLabel('Name').fill('calendar');
  await page.getByLabel('URL').fill(host.calendar?.mcpUrl ?? '');
  await page.getByRole('button', { name: 'Test connection' }).click();
  await page.locator('.tested').waitFor();
  await shot(page, 'admin-register');
  // Alice's Gmail connected ahead: the phone shows an answer, not the connect card again.
  await connectGmail(host.registry, userIdOf(host.identityProvider?.issuer ?? '', 'user-alice'), 'alice');
  const phone = await (await newContext(browser, { mobile: true })).newPage();
  await signIn(phone, host.url, 'alice');
  await send(phone, "What's in my inbox?");
  await ended(phone);
  await shot(phone, 'chat-mobile');
  console.log(`Screenshots written to ${out}`);
} finally {
  await browser.close();
  await host.stop();
}
