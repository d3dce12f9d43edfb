import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHashEmbedder, StewardError } from '@steward/core';
import { z } from 'zod';
import { chatCompletionBody, chatStreamFrames, type SseFrame, type WireContext } from './chat-wire.ts';
import type { MockReply, MockReplyHandler, MockRequest } from './mock-reply.ts';
import {
  chatRequestSchema,
  checkChatToolPairs,
  checkResponsesToolPairs,
  responsesRequestSchema,
} from './request-validation.ts';
import { responsesBody, responsesStreamFrames } from './responses-wire.ts';

const optionsSchema = z
  .object({
    /** Port to listen on; 0 (default) picks a free one. */
    port: z.number().int().min(0).max(65_535).default(0),
    host: z.string().default('127.0.0.1'),
    /** When set, requests must carry `Authorization: Bearer <apiKey>` or get a 401. */
    apiKey: z.string().optional(),
    /** Replies when no scripted reply is queued. Default: echoes the last user message. */
    reply: z.custom<MockReplyHandler>((value) => typeof value === 'function').optional(),
    /** Delay between streamed chunks, for every reply that does not set its own. */
    chunkDelayMs: z.number().nonnegative().default(0),
    /** Largest request body accepted, in bytes. */
    maxBodyBytes: z.number().int().positive().default(10_000_000),
  })
  .strict();

/** Options of {@link startMockOpenAI}. */
export interface MockOpenAIOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** When set, requests must carry `Authorization: Bearer <apiKey>` or get a 401. */
  apiKey?: string;
  /** Replies when no scripted reply is queued. Default: echoes the last user message. */
  reply?: MockReplyHandler;
  /** Delay between streamed chunks, for every reply that does not set its own. Default 0. */
  chunkDelayMs?: number;
  /** Largest request body accepted, in bytes; larger gets a 413. Default 10,000,000. */
  maxBodyBytes?: number;
}

const _options: (value: MockOpenAIOptions) => z.input<typeof optionsSchema> = (value) => value;
void _options;

/** A running mock OpenAI server. */
export interface MockOpenAIServer {
  /** `http://host:port`. */
  readonly url: string;
  /** `url + '/v1'`: pass it as `baseURL` to `openai` or `createOpenAIModel`. */
  readonly baseURL: string;
  /** Every request received, in order. */
  readonly requests: readonly MockRequest[];
  /** Queues replies; each request takes the next one. */
  enqueue(...replies: MockReply[]): void;
  /** Replies for requests that find the queue empty. */
  setReplyHandler(handler: MockReplyHandler): void;
  /** Clears the queue and the recorded requests. */
  reset(): void;
  /** Stops the server, cutting any stream still open. */
  close(): Promise<void>;
}

const defaultHandler: MockReplyHandler = (request) => {
  const messages = (request.body.messages ?? request.body.input) as unknown;
  let last = '';
  if (typeof messages === 'string') last = messages;
  else if (Array.isArray(messages)) {
    const user = [...messages].reverse().find((message) => (message as { role?: unknown }).role === 'user') as
      | { content?: unknown }
      | undefined;
    last = typeof user?.content === 'string' ? user.content : '';
  }
  return { text: `You said: ${last}` };
};

function sendError(
  response: ServerResponse,
  status: number,
  message: string,
  type: string,
  headers: Record<string, string> = {},
) {
  const code = status === 429 ? 'rate_limit_exceeded' : status === 401 ? 'invalid_api_key' : null;
  response.writeHead(status, {
    'content-type': 'application/json',
    'x-request-id': `req_${randomUUID()}`,
    ...headers,
  });
  response.end(JSON.stringify({ error: { message, type, param: null, code } }));
}

async function readBody(request: IncomingMessage, limit: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Starts an HTTP server that speaks OpenAI's Chat Completions and Responses APIs, streamed (SSE,
 * tool-call arguments split across chunks, `stream_options.include_usage`) and not, with
 * scripted replies and injectable faults. For offline tests of anything built on `openai`.
 *
 * @example
 * ```ts
 * const mock = await startMockOpenAI();
 * mock.enqueue({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] }, { text: 'Sunny.' });
 * const model = createOpenAIModel({ model: 'gpt-test', baseURL: mock.baseURL, apiKey: 'test' });
 * // …
 * await mock.close();
 * ```
 */
export async function startMockOpenAI(options: MockOpenAIOptions = {}): Promise<MockOpenAIServer> {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    throw new StewardError(
      'invalid_options',
      `startMockOpenAI: invalid options: ${z.prettifyError(parsed.error)}`,
      {
        details: { issues: parsed.error.issues },
      },
    );
  }
  const config = parsed.data;
  const queue: MockReply[] = [];
  const requests: MockRequest[] = [];
  let handler: MockReplyHandler = config.reply ?? defaultHandler;

  // Small SSE writes must leave at once: Nagle plus delayed ACKs would add ~40 ms stalls.
  const server = createServer({ noDelay: true }, (request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent)
        sendError(response, 500, `Mock server error: ${String(error)}`, 'server_error');
      else response.destroy();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method === 'POST' && path === '/v1/embeddings') {
      await embeddings(request, response);
      return;
    }
    const api = path === '/v1/chat/completions' ? 'chat' : path === '/v1/responses' ? 'responses' : undefined;
    if (request.method !== 'POST' || api === undefined) {
      sendError(response, 404, `Unknown endpoint ${request.method} ${path}`, 'invalid_request_error');
      return;
    }
    if (config.apiKey !== undefined && request.headers.authorization !== `Bearer ${config.apiKey}`) {
      sendError(response, 401, 'Incorrect API key provided', 'invalid_request_error');
      return;
    }
    const text = await readBody(request, config.maxBodyBytes);
    if (text === undefined) {
      sendError(response, 413, 'Request body too large', 'invalid_request_error');
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      sendError(response, 400, 'We could not parse the JSON body of your request.', 'invalid_request_error');
      return;
    }
    const parsed = (api === 'chat' ? chatRequestSchema : responsesRequestSchema).safeParse(body);
    if (!parsed.success) {
      sendError(response, 400, z.prettifyError(parsed.error), 'invalid_request_error');
      return;
    }
    const data = parsed.data as Record<string, unknown>;
    const pairing =
      api === 'chat'
        ? checkChatToolPairs(parsed.data.messages as Parameters<typeof checkChatToolPairs>[0])
        : checkResponsesToolPairs(parsed.data.input as Parameters<typeof checkResponsesToolPairs>[0]);
    if (pairing !== undefined) {
      sendError(response, 400, pairing, 'invalid_request_error');
      return;
    }
    const record: { -readonly [Key in keyof MockRequest]: MockRequest[Key] } = {
      api,
      stream: data.stream === true,
      body: data,
      headers: request.headers,
      clientClosedEarly: false,
    };
    requests.push(record);
    response.once('close', () => {
      if (!response.writableFinished) record.clientClosedEarly = true;
    });
    const reply = queue.shift() ?? handler(record);
    await respond(api, record, reply, response, text.length);
  }

  // Deterministic embeddings: the same text always gets the same vector (feature hashing).
  async function embeddings(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const text = await readBody(request, config.maxBodyBytes);
    const parsed = z
      .object({
        model: z.string(),
        input: z.union([z.string(), z.array(z.string()).min(1)]),
        dimensions: z.number().int().positive().optional(),
      })
      .loose()
      .safeParse(JSON.parse(text ?? 'null'));
    if (!parsed.success) {
      sendError(response, 400, z.prettifyError(parsed.error), 'invalid_request_error');
      return;
    }
    const inputs = typeof parsed.data.input === 'string' ? [parsed.data.input] : parsed.data.input;
    const vectors = await createHashEmbedder({ dimensions: parsed.data.dimensions ?? 1_536 }).embed(inputs);
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify({
        object: 'list',
        model: parsed.data.model,
        data: vectors.map((embedding, index) => ({ object: 'embedding', index, embedding })),
        usage: { prompt_tokens: inputs.join(' ').length, total_tokens: inputs.join(' ').length },
      }),
    );
  }

  async function respond(
    api: 'chat' | 'responses',
    request: MockRequest,
    reply: MockReply,
    response: ServerResponse,
    bodyChars: number,
  ) {
    const fault = reply.fault;
    if (fault?.type === 'rate_limit') {
      const headers: Record<string, string> =
        fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
      sendError(response, 429, 'Rate limit reached for requests', 'requests', headers);
      return;
    }
    if (fault?.type === 'http_error') {
      sendError(
        response,
        fault.status ?? 500,
        fault.message ?? 'The server had an error while processing your request.',
        'server_error',
      );
      return;
    }
    const streamOptions = request.body.stream_options as { include_usage?: boolean } | null | undefined;
    const context: WireContext = {
      id: `${api === 'chat' ? 'chatcmpl' : 'resp'}-${randomUUID().replaceAll('-', '')}`,
      model: String(request.body.model),
      created: Math.floor(Date.now() / 1000),
      inputTokens: Math.ceil(bodyChars / 4),
      includeUsage: streamOptions?.include_usage === true,
    };
    if (!request.stream) {
      response.writeHead(200, { 'content-type': 'application/json', 'x-request-id': `req_${context.id}` });
      response.end(
        JSON.stringify(api === 'chat' ? chatCompletionBody(reply, context) : responsesBody(reply, context)),
      );
      return;
    }
    const frames = api === 'chat' ? chatStreamFrames(reply, context) : responsesStreamFrames(reply, context);
    await writeStream(response, frames, reply, context);
  }

  async function writeStream(
    response: ServerResponse,
    frames: SseFrame[],
    reply: MockReply,
    context: WireContext,
  ) {
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-request-id': `req_${context.id}`,
    });
    const delayMs = reply.chunkDelayMs ?? config.chunkDelayMs;
    // A fault past the end still happens, before the last frame, rather than silently not at all.
    const cutAt =
      reply.fault !== undefined && 'afterChunks' in reply.fault
        ? Math.min(reply.fault.afterChunks, frames.length - 1)
        : Number.POSITIVE_INFINITY;
    const render = (frame: SseFrame) =>
      frame.event === undefined
        ? `data: ${frame.data}\n\n`
        : `event: ${frame.event}\ndata: ${frame.data}\n\n`;
    if (delayMs === 0 && cutAt === Number.POSITIVE_INFINITY) {
      // Nothing to pace or cut: one write, so the server is never what a benchmark measures.
      response.end(frames.map(render).join(''));
      return;
    }
    for (const [index, frame] of frames.entries()) {
      if (response.destroyed) return;
      if (index === cutAt) {
        if (reply.fault?.type === 'disconnect') {
          // Destroy only once the chunks already written are flushed, so the client did receive them.
          await new Promise<void>((resolve) => response.write('', () => resolve()));
          response.socket?.destroy();
          return;
        }
        if (reply.fault?.type === 'malformed') {
          response.end('data: {"id": "broken", "choices": [\n\n');
          return;
        }
        // A stall: keep the connection open and silent until the client gives up or the server closes.
        return;
      }
      const text =
        frame.event === undefined
          ? `data: ${frame.data}\n\n`
          : `event: ${frame.event}\ndata: ${frame.data}\n\n`;
      if (!response.write(text)) await new Promise((resolve) => response.once('drain', resolve));
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
    response.end();
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;

  return {
    url,
    baseURL: `${url}/v1`,
    requests,
    enqueue: (...replies) => {
      queue.push(...replies);
    },
    setReplyHandler: (next) => {
      handler = next;
    },
    reset: () => {
      queue.length = 0;
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
