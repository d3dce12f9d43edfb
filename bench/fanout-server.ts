// The fan-out bench's server: one process serving the Steward API and run WebSocket over an
// Assistant whose model is the bench's mock OpenAI server (MODEL_URL). Prints its URL as the
// first line of stdout; GET /rss answers its resident memory (`?gc=1` collects first), for the per-session figure.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Assistant } from '@steward/core';
import { createOpenAIModel } from '@steward/core/openai';
import { attachWebSocket, createJwtAuth, createStewardApi, toNodeHandler } from '@steward/transport-ws';

const assistant = new Assistant({
  model: createOpenAIModel({ model: 'bench', baseURL: process.env.MODEL_URL as string, apiKey: 'bench' }),
  limits: { historyMessages: 0 },
});
const api = createStewardApi({
  assistant,
  auth: createJwtAuth({ secret: process.env.BENCH_SECRET as string }),
});
const handler = toNodeHandler(api);
const server = createServer((request, response) => {
  if (request.url?.startsWith('/rss') === true) {
    // Only the baseline reading collects first: a forced GC per sample would stall the streams.
    if (request.url === '/rss?gc=1') globalThis.gc?.();
    response.end(String(process.memoryUsage().rss));
    return;
  }
  handler(request, response);
});
attachWebSocket(server, api);
// A thousand clients connect at once: the default backlog (511) would leave some to SYN retries.
server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
  process.stdout.write(`http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
