import { describe, expect, it } from 'vitest';
import { testServers, userToken } from './test-helpers.ts';

const { server } = testServers();

/** POSTs `body` as JSON with `token`; the status and the parsed answer. */
async function post(url: string, token: string, body: unknown) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

describe('tools/register and registration trust', () => {
  it('refuses a body that would run a command with a typed 400, before any registrar sees it', async () => {
    const registered: unknown[] = [];
    // A registrar that would accept anything: the route alone must keep commands out.
    const tools = {
      async register(config: unknown) {
        registered.push(config);
        return { state: 'connected' };
      },
    };
    const { url } = await server([], { api: { tools } });
    const admin = await userToken('root', { roles: ['admin'] });
    for (const body of [
      { name: 'pwn', transport: 'stdio', command: 'node', args: ['-e', 'process.exit(0)'] },
      { name: 'pwn', command: 'node' },
      ['stdio'],
      'stdio',
      null,
    ]) {
      const answer = await post(`${url}/api/v1/tools/register`, admin, body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error.code).toBe('invalid_request');
    }
    const stdio = await post(`${url}/api/v1/tools/register`, admin, {
      name: 'pwn',
      transport: 'stdio',
      command: 'node',
    });
    expect(stdio.body.error).toMatchObject({
      message: expect.stringMatching(
        /transport: must be streamable-http or sse: a request cannot register a command/,
      ),
      details: { issues: [{ path: 'transport' }] },
    });
    expect(registered).toEqual([]);
  });
});
