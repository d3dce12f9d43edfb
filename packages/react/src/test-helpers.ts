import { Assistant, type AssistantOptions } from '@steward/core';
import { createMailTool, createScriptedModel, type ScriptedStep } from '@steward/core/testing';
import { createJwtAuth, type StewardServer, startStewardServer } from '@steward/transport-ws';
import { signTestToken } from '@steward/transport-ws/testing';
import { cleanup, configure, renderHook } from '@testing-library/react';
import { StrictMode } from 'react';
import { afterEach } from 'vitest';

// waitFor's default of 1 s is a timing assumption: runs here stream for longer on a busy machine
// (and under React 18's development build). The tests wait for states, however long they take.
configure({ asyncUtilTimeout: 15_000 });

import type { ChatMessage, ToolCard } from './chat-message.ts';
import { type UseAssistantOptions, type UseAssistantResult, useAssistant } from './use-assistant.ts';

/** @internal */
export const secret = 'test-secret-that-is-at-least-32-bytes-long!';

/** @internal A user token signed with the test secret. */
export function userToken(userId: string): Promise<string> {
  return signTestToken({ secret, userId });
}

/** @internal A side-effect tool (so it needs approval) that records what it "sends". */
export const mailTool = createMailTool;

/** @internal A real Steward server (REST + WebSocket) over a scripted model. */
export async function startTestServer(
  steps: readonly ScriptedStep[],
  options: Partial<AssistantOptions> = {},
): Promise<StewardServer & { assistant: Assistant }> {
  const assistant = new Assistant({ model: createScriptedModel(steps), ...options });
  const server = await startStewardServer({ assistant, auth: createJwtAuth({ secret }) });
  return Object.assign(server, { assistant });
}

/**
 * @internal Per-file test servers: `server(...)` starts one; after each test the hooks unmount
 * first (closing their sockets), then every server and whatever else is on `cleanups` closes.
 */
export function testServers() {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    cleanup();
    for (const close of cleanups.splice(0).reverse()) await close();
  });
  async function server(...args: Parameters<typeof startTestServer>) {
    const started = await startTestServer(...args);
    cleanups.push(() => started.close());
    return started;
  }
  return { server, cleanups };
}

/**
 * @internal Renders the hook in StrictMode (effects run twice on mount) and records every render, so a
 * test can look at intermediate states, not only the last one.
 */
export function renderAssistant(options: UseAssistantOptions) {
  const renders: UseAssistantResult[] = [];
  const rendered = renderHook(
    () => {
      const chat = useAssistant(options);
      renders.push(chat);
      return chat;
    },
    { wrapper: StrictMode },
  );
  return { ...rendered, renders };
}

/** @internal The assistant text of a conversation, joined. */
export const answerOf = (messages: readonly ChatMessage[]) =>
  messages.flatMap((message) => (message.role === 'assistant' ? [message.text] : [])).join('');

/** @internal The first tool card. */
export const cardOf = (messages: readonly ChatMessage[]) =>
  messages.find((message) => message.role === 'tool') as ToolCard;

/** @internal Node's network (not happy-dom's), passed explicitly as a browser app would pass its own. */
export const network = { fetch: globalThis.fetch, WebSocket: globalThis.WebSocket };

/**
 * @internal A WebSocket that calls `cut` when its n-th socket has received `afterMessages[n]` frames, so a
 * test drops the connection at a known point of the stream, not at a moment of the clock.
 */
export function cuttingWebSocket(
  cut: () => void,
  afterMessages: readonly number[],
  sockets: WebSocket[] = [],
): typeof WebSocket {
  return class CuttingWebSocket extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols);
      const limit = afterMessages[sockets.length];
      sockets.push(this);
      let received = 0;
      this.addEventListener('message', () => {
        if (++received === limit) cut();
      });
    }
  };
}
