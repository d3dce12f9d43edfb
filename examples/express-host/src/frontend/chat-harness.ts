import { readFileSync } from 'node:fs';
import { Window } from 'happy-dom';
import type { TestBrowser } from './test-browser.ts';

// public/chat.js in a DOM (happy-dom) over the real server: its fetches carry the test
// browser's cookies, and its WebSocket is Node's (or a scripted one), against the real /ws.
// chat.js is a module importing its neighbours (tool-words.js, input-card.js, input-form.js, connect-card.js):
// each is inlined here, dependencies first, exports and imports dropped, so it runs as one
// function body.
const source = (name: string) =>
  readFileSync(new URL(`../../public/${name}`, import.meta.url), 'utf8')
    .replace(/^import \{[^}]*\} from '\.\/[a-z-]+\.js';$/gm, '')
    .replace(/^export /gm, '');
const script = ['tool-words.js', 'input-form.js', 'input-card.js', 'connect-card.js']
  .map(source)
  .concat(source('chat.js'))
  .join('\n');

/** @internal Waits for `check` to hold, polling every 10 ms, failing after `timeoutMs`. */
export async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** @internal What the page's script may be given instead of the real globals. */
export interface ChatGlobals {
  WebSocket?: typeof WebSocket;
  /** The script's only timer is its reconnect back-off: a spy here sees every reconnect it plans. */
  setTimeout?: typeof setTimeout;
}

/** @internal The chat pages a test opened, to close after each test. */
export const openWindows: Window[] = [];

/** @internal Loads the chat page as `browser` sees it and runs the page's script in it. */
export async function openChat(browser: TestBrowser, globals: ChatGlobals = {}) {
  const window = new Window({
    url: `${browser.base}/chat`,
    settings: { disableJavaScriptFileLoading: true, disableCSSFileLoading: true },
  });
  openWindows.push(window);
  const { document } = window;
  document.write(await browser.page('/chat'));
  const fetchAs = (path: string, init?: RequestInit) => browser.request(path, init);
  new Function('window', 'document', 'fetch', 'WebSocket', 'FormData', 'setTimeout', script)(
    window,
    document,
    fetchAs,
    globals.WebSocket ?? globalThis.WebSocket,
    window.FormData,
    globals.setTimeout ?? globalThis.setTimeout,
  );
  const composer = document.getElementById('composer') as unknown as HTMLFormElement;
  return {
    document,
    /** The last assistant turn's text, cards included. */
    lastTurn: () => [...document.querySelectorAll('article.assistant')].at(-1),
    /** Whether the composer's Send button is disabled. */
    busy: () => (composer.querySelector('button[type="submit"]') as unknown as HTMLButtonElement).disabled,
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
