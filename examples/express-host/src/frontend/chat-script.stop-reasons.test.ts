import { type StewardEvent, type StopReason, stewardEventSchema } from '@steward/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { endingWords } from '../../public/tool-words.js';
import { type ExpressHost, startExpressHost } from '../host.ts';
import { openChat, openWindows, until } from './chat-harness.ts';
import { TestBrowser } from './test-browser.ts';

// How public/chat.js ends a run, for every stop reason core can send: the reasons come from
// core's own `final` schema, so a reason added there is tested here without a change.
const finalSchema = stewardEventSchema.options.find((option) => option.shape.type.value === 'final');
const stopReasons = (finalSchema?.shape as { stop_reason: { options: readonly StopReason[] } } | undefined)
  ?.stop_reason.options;

let host: ExpressHost;
beforeAll(async () => {
  // Slow enough chunks that a test can stop a real run while it streams.
  host = await startExpressHost({ devSignIn: true, oidc: false, chunkDelayMs: 40 });
});
afterEach(async () => {
  for (const window of openWindows.splice(0)) await window.happyDOM.close();
});
afterAll(() => host?.stop());

async function signedIn(username: string) {
  const browser = new TestBrowser(host.url);
  await browser.login(username);
  return browser;
}

/** An event as the test writes it: the socket adds run id, seq and timestamp. */
type Frame = StewardEvent extends infer Event
  ? Event extends StewardEvent
    ? Omit<Event, 'run_id' | 'seq' | 'timestamp'>
    : never
  : never;

/**
 * A WebSocket that plays `events` (numbered from seq 1 for the run it is opened for) and then
 * closes, as the server does after `final`. Errors the page's listeners throw are kept, as a
 * browser console would show them.
 */
function scriptedSocket(events: readonly Frame[]) {
  const opened: string[] = [];
  const scriptErrors: unknown[] = [];
  class ScriptedWebSocket {
    static readonly OPEN = 1;
    readyState = 0;
    readonly #listeners = new Map<string, ((event: unknown) => unknown)[]>();
    constructor(url: string | URL) {
      opened.push(String(url));
      const runId = new URL(url).searchParams.get('run_id') ?? '';
      queueMicrotask(() => {
        this.readyState = 1;
        this.#emit('open', {});
        events.forEach((event, index) => {
          const frame = { ...event, run_id: runId, seq: index + 1, timestamp: new Date().toISOString() };
          this.#emit('message', { data: JSON.stringify(frame) });
        });
        this.close();
      });
    }
    addEventListener(type: string, listener: (event: unknown) => unknown) {
      this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
    }
    send() {}
    close() {
      if (this.readyState === 3) return;
      this.readyState = 3;
      this.#emit('close', {});
    }
    #emit(type: string, event: unknown) {
      for (const listener of this.#listeners.get(type) ?? []) {
        try {
          const result = listener(event);
          if (result instanceof Promise) result.catch((error: unknown) => scriptErrors.push(error));
        } catch (error) {
          scriptErrors.push(error);
        }
      }
    }
  }
  return { WebSocket: ScriptedWebSocket as unknown as typeof WebSocket, opened, scriptErrors };
}

const usage = { input_tokens: 3, output_tokens: 2, total_tokens: 5 };

describe('public/chat.js at the end of a run', () => {
  it('knows every stop reason in core’s final event', () => {
    expect(stopReasons).toEqual(expect.arrayContaining(['stop', 'aborted', 'interrupted', 'error']));
  });

  it.each([...(stopReasons ?? []), 'a_reason_from_a_newer_server'])(
    'shows how a run ended with %s, frees the composer and does not reconnect',
    async (reason) => {
      const partial = !['stop', 'length', 'content_filter', 'max_steps'].includes(reason);
      const frames: Frame[] = [
        { type: 'run_started', session_id: 's', user_id: 'u' },
        { type: 'token', text: 'Half an answer' },
      ];
      // As core sends it: an error event first, then final.
      if (reason === 'error')
        frames.push({
          type: 'error',
          code: 'model_unavailable',
          message: 'The model is down',
          retryable: true,
        });
      frames.push({
        type: 'final',
        text: 'Half an answer',
        usage,
        stop_reason: reason as StopReason,
        partial,
      });
      const socket = scriptedSocket(frames);
      const timers: number[] = [];
      const chat = await openChat(await signedIn(`stop-${reason}`), {
        WebSocket: socket.WebSocket,
        setTimeout: ((callback: () => void, ms?: number) => {
          timers.push(ms ?? 0);
          return setTimeout(callback, ms);
        }) as typeof setTimeout,
      });
      chat.send('Tell me something');
      await until(() => socket.opened.length > 0 && !chat.busy(), 'the composer to be free again');

      const turn = chat.lastTurn();
      expect(socket.scriptErrors).toEqual([]);
      expect(turn?.querySelector('.status')).toBeNull();
      expect(turn?.getAttribute('data-stop-reason')).toBe(reason);
      expect(turn?.querySelector('.text')?.textContent).toBe('Half an answer');
      expect(turn?.querySelector('.text')?.classList.contains('partial')).toBe(partial);
      // Each reason in the user's words (core's newer reasons read as an early end), with Retry.
      const ending = turn?.querySelector('.ending')?.textContent;
      if (reason === 'stop' && !partial) expect(ending).toBeUndefined();
      else expect(ending).toBe(endingWords[reason] ?? 'The answer ended early.');
      expect(turn?.querySelector('.retry-button') != null).toBe(!(reason === 'stop' && !partial));
      // The socket closed after final: a reconnect would have planned its back-off by now (the
      // close listener runs synchronously), and that back-off is the script's only timer.
      expect(timers).toEqual([]);
      expect(socket.opened).toHaveLength(1);
    },
  );

  it('shows a real run stopped on the server as stopped, over the real socket', async () => {
    const chat = await openChat(await signedIn('stop-real'));
    chat.send("What's in my inbox?");
    await until(() => chat.lastTurn()?.querySelector('.text') != null, 'the first tokens');
    const runId = chat.lastTurn()?.getAttribute('data-run-id') ?? '';
    await host.assistant.stop(runId, { userId: 'stop-real' });
    await until(() => !chat.busy(), 'the composer to be free again');
    expect(chat.lastTurn()?.querySelector('.ending')?.textContent).toBe('Stopped.');
    expect(chat.lastTurn()?.querySelector('.status')).toBeNull();
  });
});
