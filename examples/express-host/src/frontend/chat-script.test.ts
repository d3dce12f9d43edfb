import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectGmail } from '../connect-gmail.ts';
import { type ExpressHost, startExpressHost } from '../host.ts';
import { openChat, openWindows, until } from './chat-harness.ts';
import { TestBrowser } from './test-browser.ts';

let host: ExpressHost;

beforeAll(async () => {
  host = await startExpressHost({ devSignIn: true, oidc: false, chunkDelayMs: 1 });
});
afterEach(async () => {
  for (const window of openWindows.splice(0)) await window.happyDOM.close();
});
afterAll(() => host?.stop());

async function signedIn(username: string) {
  const browser = new TestBrowser(host.url);
  await browser.login(username);
  // Gmail is per user (OAuth): connected ahead, as the connecting flow is not these tests' subject.
  await connectGmail(host.registry, username, 'alice');
  return browser;
}

describe('public/chat.js', () => {
  it('streams a read, then a send the user approves with the card’s button', async () => {
    const chat = await openChat(await signedIn('page-user'));
    chat.send("What's in my inbox?");
    await until(
      () => chat.lastTurn()?.textContent?.includes('Here are your 5 newest emails') === true,
      'the answer',
    );
    await until(() => chat.lastTurn()?.querySelector('.status') === null, 'the final event');
    const turn = chat.lastTurn();
    expect(chat.document.querySelector('article.user')?.textContent).toBe("What's in my inbox?");
    expect(turn?.querySelector('.tool-title')?.textContent).toBe('Fetch emails');
    expect(turn?.querySelector('.tool-server')?.textContent).toBe('Gmail');
    expect(turn?.querySelector('.tool-status')?.textContent).toBe('Done');
    expect(turn?.querySelectorAll('.tool-result li')).toHaveLength(6);

    const sentBefore = host.gmail.mailbox.sent.length;
    chat.send('Send an email to ada@engine.example saying the page works');
    await until(() => chat.lastTurn()?.querySelector('.approval button') != null, 'the Approve button');
    expect(chat.lastTurn()?.querySelector('.tool-status')?.textContent).toBe('Waiting for your approval');
    expect(host.gmail.mailbox.sent.length).toBe(sentBefore);
    chat.click('.approval button');
    await until(() => chat.lastTurn()?.textContent?.includes('Done: the email is sent') === true, 'the send');
    expect(host.gmail.mailbox.sent.length).toBe(sentBefore + 1);
    expect(chat.lastTurn()?.querySelector('.approval')).toBeNull();
  });

  it('renders streamed text as text, never as markup', async () => {
    const chat = await openChat(await signedIn('page-markup'));
    chat.send('<img src=x onerror=alert(1)>');
    await until(() => chat.lastTurn()?.querySelector('.status') === null, 'the final event');
    expect(chat.lastTurn()?.textContent).toContain('You said: <img src=x onerror=alert(1)>');
    expect(chat.document.querySelectorAll('img')).toHaveLength(0);
  });

  it('reconnects after a dropped socket with last_seq, and shows every event once', async () => {
    const opened: string[] = [];
    // The first socket drops after five frames, as a flaky network would.
    class FlakyWebSocket extends WebSocket {
      constructor(url: string | URL) {
        super(url);
        opened.push(String(url));
        if (opened.length > 1) return;
        let frames = 0;
        this.addEventListener('message', () => {
          frames += 1;
          if (frames === 5) this.close();
        });
      }
    }
    const chat = await openChat(await signedIn('page-flaky'), { WebSocket: FlakyWebSocket });
    chat.send("What's in my inbox?");
    await until(() => chat.lastTurn()?.querySelector('.status') === null, 'the final event');
    expect(opened).toHaveLength(2);
    expect(new URL(opened[1] ?? '').searchParams.get('last_seq')).toBe('5');
    const text = chat.lastTurn()?.textContent ?? '';
    expect(text.split('Let me look at your inbox.')).toHaveLength(2);
    expect(text.split('Here are your 5 newest emails')).toHaveLength(2);
    expect(chat.lastTurn()?.querySelectorAll('.tool-card')).toHaveLength(1);
  });

  it('after a reload, streams a run paused for approval again, and a Deny sends nothing', async () => {
    const browser = await signedIn('page-reload');
    const sentBefore = host.gmail.mailbox.sent.length;
    // A form post without script: the server waits for the pause and redirects.
    await browser.post('/chat/send', {
      _csrf: await browser.csrf(),
      message: 'Send an email to alan@bletchley.example saying hi',
    });
    const chat = await openChat(browser);
    await until(
      () => chat.lastTurn()?.querySelector('.approval button.secondary') != null,
      'the Deny button',
    );
    // The server-rendered form was replaced by the live card: one card, no duplicate.
    expect(chat.lastTurn()?.querySelectorAll('.tool-card')).toHaveLength(1);
    chat.click('.approval button:last-child');
    await until(() => chat.lastTurn()?.textContent?.includes('I did not send it') === true, 'the reply');
    expect(chat.lastTurn()?.querySelector('.tool-status')?.textContent).toBe('Denied');
    expect(host.gmail.mailbox.sent.length).toBe(sentBefore);
  });
});
