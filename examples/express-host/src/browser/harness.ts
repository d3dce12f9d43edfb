import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';

/** Debian's Chromium; `.ci/run` installs it when missing. Never a browser download. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** @internal Whether the browser tests can run here. */
export const hasChromium = existsSync(chromiumPath);

/**
 * @internal Launches headless Chromium with the flags CI needs. Playwright gives every launch a
 * fresh temporary profile (its own `--user-data-dir`), removed when the browser closes.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    chromiumSandbox: false,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** @internal Signs in through the identity provider's own pages, as a person would. */
export async function signIn(
  page: Page,
  baseUrl: string,
  username: string,
  password = 'steward',
): Promise<void> {
  await page.goto(`${baseUrl}/login`);
  await page.getByRole('button', { name: 'Sign in with Steward ID' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  // The first sign-in of a user asks for consent; later ones go straight back.
  const allow = page.getByRole('button', { name: 'Allow' });
  await page.waitForURL(
    (url) => url.pathname.startsWith('/chat') || url.pathname.startsWith('/interaction/'),
  );
  if (new URL(page.url()).pathname.startsWith('/interaction/')) await allow.click();
  await page.waitForURL((url) => url.pathname.startsWith('/chat'));
}

/** @internal A new browser context (its own cookies), optionally at a phone's size. */
export function newContext(
  browser: Browser,
  options: { mobile?: boolean; javaScript?: boolean } = {},
): Promise<BrowserContext> {
  return browser.newContext({
    ...(options.mobile === true
      ? { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true }
      : {}),
    ...(options.javaScript === false ? { javaScriptEnabled: false } : {}),
  });
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** @internal One axe-core violation, as the test reports it. */
export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly targets: readonly string[];
}

/**
 * @internal Runs axe-core (WCAG 2.x A and AA rules and best practices) in the page and returns
 * the critical, serious and moderate violations. axe is injected through CDP-free `evaluate`, so
 * the page's CSP (scripts from its own origin only) does not apply.
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: {
          run: (
            context: unknown,
            options: unknown,
          ) => Promise<{
            violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[];
          }>;
        };
      }
    ).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((violation) => ({
      id: violation.id,
      impact: violation.impact,
      help: violation.help,
      targets: violation.nodes.map((node) => node.target.join(' ')),
    }));
  });
  return violations.filter((violation) =>
    ['critical', 'serious', 'moderate'].includes(violation.impact ?? ''),
  );
}

/** @internal The first match's text, whitespace collapsed (waits for it to exist). */
export async function textOf(locator: Locator): Promise<string> {
  return ((await locator.first().textContent({ timeout: 10_000 })) ?? '').replace(/\s+/g, ' ').trim();
}

/** @internal Whether the element is wholly inside the viewport. */
export function inViewport(locator: Locator): Promise<boolean> {
  return locator.evaluate((node) => {
    const box = node.getBoundingClientRect();
    return (
      box.top >= 0 && box.left >= 0 && box.bottom <= window.innerHeight && box.right <= window.innerWidth
    );
  });
}
