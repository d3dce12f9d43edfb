// The bench's model: a mock OpenAI server in its own process, so its CPU time is not charged to
// either side of a comparison. Prints its base URL as the first line of stdout.
import { type MockReply, type MockRequest, startMockOpenAI } from '@steward/testing';

const words = (count: number) => Array.from({ length: count }, (_value, index) => ` w${index}`);

function reply(request: MockRequest): MockReply {
  const body = request.body as { messages?: unknown; input?: unknown };
  const raw = body.messages ?? body.input;
  const items = (typeof raw === 'string' ? [{ role: 'user', content: raw }] : raw) as {
    role?: string;
    type?: string;
    content?: unknown;
  }[];
  const last = items.at(-1);
  if (last?.role === 'tool' || last?.type === 'function_call_output') return { deltas: words(200) };
  const prompt = String(last?.content ?? '');
  if (prompt.startsWith('tool')) {
    return { toolCalls: [{ name: 'lookup', arguments: { key: 'alpha', limit: 10 } }], argumentChunkSize: 4 };
  }
  const count = Number(/stream:(\d+)/.exec(prompt)?.[1] ?? 100);
  // `pace:N`: N ms between chunks, a model's real speed rather than as fast as the socket goes.
  const pace = /pace:(\d+)/.exec(prompt)?.[1];
  return { deltas: words(count), ...(pace === undefined ? {} : { chunkDelayMs: Number(pace) }) };
}

const server = await startMockOpenAI({ reply, port: Number(process.env.PORT ?? 0) });
process.stdout.write(`${server.baseURL}\n`);
process.on('SIGTERM', () => {
  server.close().finally(() => process.exit(0));
});
