import { Agent, request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import { testServers, userToken } from './test-helpers.ts';

const { server } = testServers();

interface Sent {
  readonly status: number;
  readonly body: string;
  readonly socketPort: number | undefined;
}

/** One request over `agent`; `chunks` sends the body in pieces (chunked transfer encoding). */
function send(
  url: string,
  agent: Agent,
  options: { method?: string; headers?: Record<string, string>; body?: string; chunks?: number } = {},
): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(url, {
      method: options.method ?? 'GET',
      agent,
      headers: options.headers ?? {},
    });
    outgoing.on('response', (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body, socketPort: outgoing.socket?.localPort }),
      );
    });
    outgoing.on('error', reject);
    const body = options.body ?? '';
    const pieces = options.chunks ?? 1;
    const size = Math.ceil(body.length / pieces);
    for (let at = 0; at < body.length; at += size) outgoing.write(body.slice(at, at + size));
    outgoing.end();
  });
}

describe('toNodeHandler: a body answered before it was read', () => {
  it.each([
    ['415, never read', { 'content-type': 'text/plain' }, 1_000_000, 1, 415],
    ['401, never read', { 'content-type': 'application/json' }, 1_000_000, 1, 401],
    ['413 by its declared length', { 'content-type': 'application/json' }, 2 * 1024 * 1024, 1, 413],
    ['413 part way through a chunked body', { 'content-type': 'application/json' }, 2 * 1024 * 1024, 8, 413],
  ] as const)(
    '%s: the answer arrives and the same connection serves the next request',
    async (_label, type, size, chunks, status) => {
      const started = await server([]);
      const token = await userToken('ann');
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const headers = { ...type, ...(status === 401 ? {} : { authorization: `Bearer ${token}` }) };
        const refused = await send(`${started.url}/api/v1/respond`, agent, {
          method: 'POST',
          headers,
          body: JSON.stringify({ input: 'x'.repeat(size) }),
          chunks,
        });
        expect(refused.status).toBe(status);
        expect(JSON.parse(refused.body)).toMatchObject({ error: { code: expect.any(String) } });
        // Before the fix this waited for the server's keep-alive timeout, then failed with a reset.
        const next = await send(`${started.url}/api/v1/runs/missing`, agent, {
          headers: { authorization: `Bearer ${token}` },
        });
        expect(next.status).toBe(404);
        expect(next.socketPort).toBe(refused.socketPort);
      } finally {
        agent.destroy();
      }
    },
  );
});
