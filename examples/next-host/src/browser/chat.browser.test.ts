import { randomBytes } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../stack/stack.ts';
import { chatOf, hasChromium, launchChromium, removeSharedState, signIn, words } from './harness.ts';

// The production build (`next build`, run by `npm test`'s turbo build) under `next start`, and
// examples/orchestrator in its own process, driven through Debian's Chromium.
const databaseUrl = process.env.STEWARD_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const redisUrl = process.env.STEWARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const namespace = `next_host_${randomBytes(4).toString('hex')}`;

/** Polls wait for states, not for a time: these limits only end a test that hangs. */
const patient = { timeout: 30_000 };

let stack: Stack;
let browser: Browser;
let alice: BrowserContext;

beforeAll(async () => {
  stack = await startStack({ namespace, databaseUrl, redisUrl, chunkDelayMs: 25 });
  browser = await launchChromium();
  alice = await browser.newContext();
  const page = await alice.newPage();
  await signIn(page, stack.appUrl, 'alice');
  await page.close();
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await removeSharedState({ databaseUrl, schema: namespace, redisUrl, prefix: namespace });
});

/** A fresh conversation page of alice's. */
async function newChat(): Promise<Page> {
  const page = await alice.newPage();
  await page.goto(`${stack.appUrl}/chat`);
  return page;
}

describe.skipIf(!hasChromium)('the Next host (pattern B) in Chromium against the orchestrator', () => {
  it('signs in, streams an answer progressively from the orchestrator, and lists the conversation', async () => {
    const page = await newChat();
    const chat = chatOf(page);
    await chat.send('count 60');
    // Every text seen on the way: growing prefixes of the answer, many of them before the end.
    const seen = new Set<string>();
    while ((await chat.status()) !== 'idle' || seen.size === 0) {
      const text =
        (await chat.answers
          .last()
          .textContent()
          .catch(() => null)) ?? '';
      if (text !== '') seen.add(text);
    }
    const final = await chat.lastAnswer();
    expect(final).toBe(words(60));
    const partial = [...seen].filter((text) => text !== final);
    expect(partial.length).toBeGreaterThanOrEqual(3);
    for (const text of partial) expect(final.startsWith(text)).toBe(true);

    // The conversation got its URL, and its server-rendered page shows it in the list and the history.
    await page.waitForURL(/\/chat\/[^/]+$/);
    const html = await (await page.request.get(page.url())).text();
    expect(html).toContain('count 60');
    expect(html).toContain('w60');
    await page.reload();
    await expect
      .poll(() => page.getByRole('navigation').getByRole('link', { name: 'count 60' }).count(), patient)
      .toBe(1);
    // After hydration the hook shows the same two messages: nothing doubled, nothing lost.
    await expect.poll(() => page.locator('ol[aria-label="Conversation"] > li').count(), patient).toBe(2);
    expect(await chat.lastAnswer()).toBe(words(60));
    await page.close();
  });

  it('approve sends exactly one email through the Gmail mock; deny sends none', async () => {
    const sentBefore = stack.gmail.mailbox.sent.length;
    const page = await newChat();
    const chat = chatOf(page);
    await chat.send('Send an email to ada@engine.example saying the report is ready');
    const card = page.getByRole('region', { name: /GMAIL_SEND_EMAIL/i });
    await card.getByRole('button', { name: 'Approve' }).click();
    await expect.poll(() => chat.lastAnswer(), { timeout: 20_000 }).toContain('the email is sent');
    await chat.idle();
    expect(stack.gmail.mailbox.sent.length).toBe(sentBefore + 1);
    expect(stack.gmail.mailbox.sent.at(-1)).toMatchObject({ to: 'ada@engine.example' });

    await chat.send('Send an email to bo@engine.example saying no');
    await page
      .getByRole('region', { name: /GMAIL_SEND_EMAIL/i })
      .last()
      .getByRole('button', { name: 'Deny' })
      .click();
    await expect.poll(() => chat.lastAnswer(), { timeout: 20_000 }).toContain('I did not send it');
    await chat.idle();
    expect(stack.gmail.mailbox.sent.length).toBe(sentBefore + 1);
    await page.close();
  });

  it('Stop ends the answer where it is; the partial answer stays, marked stopped', async () => {
    const page = await newChat();
    const chat = chatOf(page);
    await chat.send('count 2000');
    await expect.poll(() => chat.lastAnswer(), patient).toMatch(/w10\b/);
    await page.getByRole('button', { name: 'Stop' }).click();
    await chat.idle();
    const stopped = await chat.lastAnswer();
    expect(words(2000).startsWith(stopped)).toBe(true);
    expect(stopped).not.toBe(words(2000));
    expect(await page.getByText('(stopped)').count()).toBe(1);
    // The orchestrator agrees: the run was aborted, and its stored answer is what was shown.
    const html = await (await page.request.get(page.url())).text();
    expect(html).toContain('(stopped)');
    await page.close();
  });

  it('a reload mid-answer resumes the run: every word once, none repeated', async () => {
    const page = await newChat();
    const chat = chatOf(page);
    await chat.send('count 300');
    await expect.poll(() => chat.lastAnswer(), patient).toMatch(/w20\b/);
    await page.waitForURL(/\/chat\/[^/]+$/);
    await page.reload();
    await expect.poll(() => chat.status(), patient).toBe('streaming');
    await chat.idle();
    expect(await chat.lastAnswer()).toBe(words(300));
    expect(await chat.answers.count()).toBe(1);
    await page.close();
  });

  it('a dropped socket reconnects from the last seq it saw: the answer is whole, nothing twice', async () => {
    const page = await newChat();
    let sockets = 0;
    // The first socket to the orchestrator is cut after 15 frames; later ones pass through.
    await page.routeWebSocket(/\/ws\?/, (socket) => {
      const number = ++sockets;
      const server = socket.connectToServer();
      let frames = 0;
      server.onMessage((message) => {
        socket.send(message);
        if (number === 1 && ++frames === 15) socket.close({ code: 4000, reason: 'cut by the test' });
      });
    });
    const chat = chatOf(page);
    await chat.send('count 120');
    await chat.idle();
    expect(sockets).toBeGreaterThanOrEqual(2);
    expect(await chat.lastAnswer()).toBe(words(120));
    await page.close();
  });

  it("keeps users apart: bob sees none of alice's conversations, cannot open one, nor read it from the orchestrator", async () => {
    const page = await newChat();
    await chatOf(page).send('count 3');
    await chatOf(page).idle();
    await page.waitForURL(/\/chat\/[^/]+$/);
    const aliceConversation = page.url();
    const aliceSession = decodeURIComponent(aliceConversation.split('/').at(-1) as string);
    await page.close();

    const bob = await browser.newContext();
    const bobPage = await bob.newPage();
    await signIn(bobPage, stack.appUrl, 'bob');
    expect(await bobPage.getByRole('navigation').getByRole('link', { name: /count/ }).count()).toBe(0);
    const opened = await bobPage.goto(aliceConversation);
    expect(opened?.status()).toBe(404);
    // With his own token, straight at the orchestrator: alice's session does not exist for him.
    const status = await bobPage.evaluate(
      async ({ orchestrator, session }) => {
        const { token } = (await (await fetch('/api/token')).json()) as { token: string };
        const response = await fetch(
          `${orchestrator}/api/v1/history?session_id=${encodeURIComponent(session)}`,
          {
            headers: { authorization: `Bearer ${token}` },
          },
        );
        return response.status;
      },
      { orchestrator: stack.orchestratorUrl, session: aliceSession },
    );
    expect(status).toBe(404);
    await bob.close();
  });

  it('the orchestrator answers CORS for the host only: a page on another origin cannot call it or open /ws', async () => {
    const page = await alice.newPage();
    // The identity provider's origin stands in for any other site.
    await page.goto(stack.identityUrl);
    const outcome = await page.evaluate(async (orchestrator) => {
      const rest = await fetch(`${orchestrator}/api/v1/respond`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer x' },
        body: '{"input":"hi"}',
      }).then(
        () => 'answered',
        () => 'blocked',
      );
      const socket = await new Promise<string>((resolve) => {
        const ws = new WebSocket(`${orchestrator.replace('http', 'ws')}/ws?run_id=r&token=x`);
        ws.onopen = () => resolve('open');
        ws.onerror = () => resolve('refused');
      });
      return { rest, socket };
    }, stack.orchestratorUrl);
    expect(outcome).toEqual({ rest: 'blocked', socket: 'refused' });
    await page.close();
  });
});
