import { Assistant, type AssistantOptions, type StewardEvent } from '@steward/core';
import { createMailTool, createScriptedModel, type ScriptedStep } from '@steward/core/testing';
import { afterEach } from 'vitest';
import { WebSocket } from 'ws';
import { createJwtAuth } from './auth.ts';
import { type StewardServer, startStewardServer } from './server.ts';
import { signTestToken } from './testing.ts';

export const secret = 'test-secret-that-is-at-least-32-bytes-long!';

/** @internal A user token signed with the test secret. */
export function userToken(
  userId: string,
  claims: Record<string, unknown> = {},
  expiresIn = '5m',
): Promise<string> {
  return signTestToken({ secret, userId, claims, expiresIn });
}

/** @internal A side-effect tool that counts what it "sends". */
export const mailTool = createMailTool;

/** @internal Model replies that wait for `open()`: runs that stay active until the test lets them end. */
export function gatedSteps(count: number): { steps: ScriptedStep[]; open: () => void } {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { steps: Array.from({ length: count }, () => ({ text: 'done', waitFor: opened })), open };
}

/** @internal A real server over a scripted model. */
export async function startTestServer(
  steps: readonly ScriptedStep[],
  options: Partial<AssistantOptions> & {
    tools?: AssistantOptions['tools'];
    api?: Partial<Parameters<typeof startStewardServer>[0]>;
  } = {},
): Promise<StewardServer & { assistant: Assistant }> {
  const { api, ...assistantOptions } = options;
  const assistant = new Assistant({ model: createScriptedModel(steps), ...assistantOptions });
  const server = await startStewardServer({ assistant, auth: createJwtAuth({ secret }), ...api });
  return Object.assign(server, { assistant });
}

/**
 * @internal Per-file test servers: `server(...)` starts one, and every server (and whatever else
 * the test pushes on `cleanups`) is closed after each test.
 */
export function testServers() {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });
  async function server(...args: Parameters<typeof startTestServer>) {
    const started = await startTestServer(...args);
    cleanups.push(() => started.close());
    return started;
  }
  return { server, cleanups };
}

/** @internal An SSE event as the tests read it. */
export interface SseItem {
  readonly id: number;
  readonly data: StewardEvent;
}

/** @internal Reads an SSE body into events (ignoring comments and retry lines). */
export async function readSse(
  response: Response,
  stopAfter: number | ((event: SseItem) => boolean) = Number.POSITIVE_INFINITY,
): Promise<SseItem[]> {
  const enough = (latest: SseItem | undefined) =>
    typeof stopAfter === 'number' ? events.length >= stopAfter : latest !== undefined && stopAfter(latest);
  const events: SseItem[] = [];
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  while (!enough(events.at(-1))) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let split = buffer.indexOf('\n\n');
    while (split !== -1) {
      const block = buffer.slice(0, split);
      buffer = buffer.slice(split + 2);
      const id = /^id: (\d+)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (id !== undefined && data !== undefined) events.push({ id: Number(id), data: JSON.parse(data) });
      if (enough(events.at(-1))) break;
      split = buffer.indexOf('\n\n');
    }
  }
  await reader.cancel().catch(() => {});
  return events;
}

/** @internal A test's WebSocket to `/ws`. */
export interface Socket {
  readonly ws: WebSocket;
  /** Every frame received so far. */
  readonly frames: Record<string, unknown>[];
  /** Resolves with the frames once `count` arrived (or the socket closed). */
  until(predicate: (frame: Record<string, unknown>) => boolean): Promise<Record<string, unknown>[]>;
  readonly closed: Promise<{ code: number; reason: string }>;
}

/** @internal Opens `/ws` with `query`, collecting every frame. */
export function open(
  url: string,
  query: Record<string, string>,
  headers: Record<string, string> = {},
): Socket {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws?${new URLSearchParams(query)}`, { headers });
  const frames: Record<string, unknown>[] = [];
  const waiters: { predicate: (frame: Record<string, unknown>) => boolean; resolve: () => void }[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => {
      for (const waiter of waiters) waiter.resolve();
      resolve({ code, reason: reason.toString() });
    });
  });
  ws.on('error', () => {});
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as Record<string, unknown>;
    frames.push(frame);
    for (const waiter of [...waiters]) {
      if (waiter.predicate(frame)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  });
  return {
    ws,
    frames,
    closed,
    until(predicate) {
      if (frames.some(predicate) || ws.readyState === ws.CLOSED) return Promise.resolve(frames);
      return new Promise((resolve) => waiters.push({ predicate, resolve: () => resolve(frames) }));
    },
  };
}

/** @internal The HTTP status of a refused upgrade (101 when it was accepted). */
export function refusal(
  url: string,
  query: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/ws?${new URLSearchParams(query)}`, { headers });
    ws.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
    ws.on('open', () => resolve(101));
    ws.on('error', () => {});
  });
}
