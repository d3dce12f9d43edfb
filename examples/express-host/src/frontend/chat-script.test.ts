import { readFileSync } from 'node:fs';
import { Window } from 'happy-dom';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ExpressHost, startExpressHost } from '../host.ts';
import { TestBrowser } from './test-browser.ts';

// public/chat.js in a DOM (happy-dom) over the real server: its fetches carry the test
// browser's cookies, and its WebSocket is Node's, against the real /ws.
const script = readFileSync(new URL('../../public/chat.js', import.meta.url), 'utf8');
let host: ExpressHost;
const windows: Window[] = [];

beforeAll(async () => {
  host = await startExpressHost({ chunkDelayMs: 1 });
});
afterEach(async () => {
  for (const window of windows.splice(0)) await window.happyDOM.close();
});
afterAll(() => host?.stop());

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Loads the chat page as `browser` sees it and runs the page's script in it. */
async function openChat(browser: TestBrowser, WebSocketClass: typeof WebSocket = globalThis.WebSocket) {
  const window = new Window({
    url: `${host.url}/chat`,
    settings: { disableJavaScriptFileLoading: true, disableCSSFileLoading: true },
  });
  windows.push(window);
  const { document } = window;
  document.write(await browser.page('/chat'));
  const fetchAs = (path: string, init?: RequestInit) => browser.request(path, init);
  new Function('window', 'document', 'fetch', 'WebSocket', 'FormData', script)(
    window,
    document,
    fetchAs,
    WebSocketClass,
    window.FormData,
  );
  const composer = document.getElementById('composer') as unknown as HTMLFormElement;
  return {
    document,
    /** The last assistant turn's text, cards included. */
    lastTurn: () => [...document.querySelectorAll('article.assistant')].at(-1),
    /** Clicks a button of the last assistant turn. */
    click(selector: string) {
      const button = [...document.querySelectorAll('article.assistant')].at(-1)?.querySelector(selector);
      if (button == null) throw new Error(`no ${selector} to click`);
      (button as unknown as HTMLButtonElement).click();
    },
    send(message: string) {
      (composer.querySelector('textarea') as unknown as HTMLTextAreaElement).value = message;
      composer.requestSubmit();
    },
  };
}

async function signedIn(username: string) {
  const browser = new TestBrowser(host.url);
  await browser.login(username);
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
    expect(turn?.querySelector('.tool-name')?.textContent).toBe('gmail__GMAIL_FETCH_EMAILS');
    expect(turn?.querySelector('.tool-status')?.textContent).toBe('done');
    expect(turn?.querySelectorAll('.tool-result li')).toHaveLength(6);

    const sentBefore = host.gmail.mailbox.sent.length;
    chat.send('Send an email to ada@engine.example saying the page works');
    await until(() => chat.lastTurn()?.querySelector('.approval button') != null, 'the Approve button');
    expect(chat.lastTurn()?.querySelector('.tool-status')?.textContent).toBe('waiting for your approval');
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
    const chat = await openChat(await signedIn('page-flaky'), FlakyWebSocket);
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
    chat.click('.approval button.secondary');
    await until(() => chat.lastTurn()?.textContent?.includes('I did not send it') === true, 'the reply');
    expect(chat.lastTurn()?.querySelector('.tool-status')?.textContent).toBe('denied');
    expect(host.gmail.mailbox.sent.length).toBe(sentBefore);
  });
});
