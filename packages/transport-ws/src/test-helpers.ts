import { createServer, type Server, type Socket } from 'node:net';
import { Assistant, type AssistantOptions, defineTool, type StewardEvent } from '@steward/core';
import { createScriptedModel, type ScriptedStep } from '@steward/core/testing';
import { SignJWT } from 'jose';
import { z } from 'zod';
import { createJwtAuth } from './auth.ts';
import { type StewardServer, startStewardServer } from './server.ts';

export const secret = 'test-secret-that-is-at-least-32-bytes-long!';

/** @internal A user token signed with the test secret. */
export function userToken(
  userId: string,
  claims: Record<string, unknown> = {},
  expiresIn = '5m',
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret));
}

/** @internal A side-effect tool that counts what it "sends". */
export function mailTool() {
  const sent: string[] = [];
  const tool = defineTool({
    name: 'send_email',
    description: 'Sends an email',
    input: z.object({ to: z.string() }),
    sideEffect: true,
    execute: ({ to }) => {
      sent.push(to);
      return { sent: true, to };
    },
  });
  return { tool, sent };
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

/** @internal A TCP proxy whose connections a test can cut, to drop sockets mid-stream. */
export async function startProxy(
  targetPort: number,
): Promise<{ port: number; cut(): void; close(): Promise<void> }> {
  const pairs = new Set<[Socket, Socket]>();
  const { connect } = await import('node:net');
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    cut() {
      for (const [client, upstream] of pairs) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
    },
    close: () =>
      new Promise((resolve) => {
        for (const [client, upstream] of pairs) {
          client.destroy();
          upstream.destroy();
        }
        server.close(() => resolve());
      }),
  };
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
