import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGmailServer } from './app.ts';
import { jsonLimits } from './json-limits.ts';

// Hostile bodies on every endpoint: each gets a typed 4xx (or a JSON-RPC error), never a 500,
// and nothing runs. 6,000 levels is where `JSON.stringify` used to overflow the stack.
type Gmail = Awaited<ReturnType<typeof startGmailServer>>;
let gmail: Gmail;
beforeAll(async () => {
  gmail = await startGmailServer();
});
afterAll(() => gmail.stop());

const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

function execute(body: string, contentType = 'application/json') {
  return fetch(`${gmail.url}/mcp/execute`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
  });
}

interface ErrorBody {
  successful: boolean;
  error: { code: string; message: string; details?: unknown };
}

describe('POST /mcp/execute with hostile bodies', () => {
  it.each([
    ['an object', deepObject],
    ['an array', deepArray],
  ])(
    'refuses arguments with %s nested 6,000 deep with 400 and every schema error, and sends nothing',
    async (_kind, deep) => {
      const sentBefore = gmail.mailbox.sent.length;
      const response = await execute(
        `{"tools":[{"tool_slug":"GMAIL_SEND_EMAIL","arguments":{"user_id":"me","to":"not-an-address","subject":"","body":"x","extra":${deep(6_000)}}},{"tool_slug":"GMAIL_FETCH_EMAILS","arguments":{"max_results":0}}],"requestId":"deep-1"}`,
      );
      expect(response.status).toBe(400);
      const body = (await response.json()) as ErrorBody & {
        error: { details: { tool_slug: string; errors: { path: string; message: string }[] }[] };
      };
      expect(body).toMatchObject({ successful: false, error: { code: 'invalid_arguments' } });
      const [send, fetchCall] = body.error.details;
      expect(send?.tool_slug).toBe('GMAIL_SEND_EMAIL');
      // The depth limit and the schema's own errors, together: the caller fixes everything at once.
      expect(send?.errors).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ message: `is nested deeper than ${jsonLimits.maxDepth} levels` }),
          expect.objectContaining({ path: '/to' }),
          expect.objectContaining({ path: '/subject' }),
        ]),
      );
      expect(send?.errors.find((error) => error.message.startsWith('is nested'))?.path).toMatch(/^\/extra\//);
      expect(fetchCall?.errors.map((error) => error.path)).toEqual(
        expect.arrayContaining(['/', '/max_results']),
      );
      expect(gmail.mailbox.sent.length).toBe(sentBefore);
    },
  );

  it('refuses arguments with more values than it will hash, deep or not', async () => {
    const many = `[${Array.from({ length: jsonLimits.maxValues + 1 }, () => '0').join(',')}]`;
    const response = await execute(
      `{"tools":[{"tool_slug":"GMAIL_FETCH_EMAILS","arguments":{"user_id":"me","label_ids":${many}}}]}`,
    );
    expect(response.status).toBe(400);
    const body = (await response.json()) as ErrorBody;
    expect(body.error.code).toBe('invalid_arguments');
    expect(JSON.stringify(body.error.details)).toContain(`has more than ${jsonLimits.maxValues} values`);
  });

  it('still accepts arguments at the depth limit', async () => {
    const nested = deepObject(jsonLimits.maxDepth - 1);
    const response = await execute(
      `{"tools":[{"tool_slug":"GMAIL_FETCH_EMAILS","arguments":{"user_id":"me","max_results":1,"extra":${nested}}}]}`,
    );
    expect(response.status).toBe(200);
  });

  it.each([
    ['malformed JSON', '{"tools": [', 'application/json', 400, 'invalid_json'],
    ['JSON nested a million deep', deepArray(500_000), 'application/json', 400, 'invalid_envelope'],
    ['a body over 1 MB', `"${'x'.repeat(1_100_000)}"`, 'application/json', 413, 'body_too_large'],
    ['text', 'send an email', 'text/plain', 415, 'unsupported_media_type'],
    ['a form', 'tools=1', 'application/x-www-form-urlencoded', 415, 'unsupported_media_type'],
    ['an unknown charset', '{}', 'application/json; charset=klingon', 415, 'unsupported_charset'],
    ['an empty JSON body', '', 'application/json', 400, 'invalid_envelope'],
    ['a JSON array', '[1,2]', 'application/json', 400, 'invalid_envelope'],
    [
      'a bare JSON string (body-parser takes objects and arrays only)',
      '"x"',
      'application/json',
      400,
      'invalid_json',
    ],
  ])('answers %s with a typed 4xx', async (_what, body, contentType, status, code) => {
    const response = await execute(body, contentType);
    expect(response.status).toBe(status);
    const answer = (await response.json()) as ErrorBody;
    expect(answer).toMatchObject({ successful: false, error: { code } });
  });

  it('answers a POST without a body as an invalid envelope, not a 500', async () => {
    const response = await fetch(`${gmail.url}/mcp/execute`, { method: 'POST' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as ErrorBody).error.code).toBe('invalid_envelope');
  });
});

describe('the MCP endpoint and discovery with hostile input', () => {
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

  async function session(): Promise<Record<string, string>> {
    const init = await fetch(gmail.mcpUrl, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
      }),
    });
    await init.text();
    const sessionHeaders = {
      ...headers,
      'mcp-session-id': init.headers.get('mcp-session-id') ?? '',
      'mcp-protocol-version': '2025-06-18',
    };
    await fetch(gmail.mcpUrl, {
      method: 'POST',
      headers: sessionHeaders,
      body: '{"jsonrpc":"2.0","method":"notifications/initialized"}',
    }).then((response) => response.text());
    return sessionHeaders;
  }

  it('refuses a tools/call with arguments nested 6,000 deep as invalid params, and runs nothing', async () => {
    const sessionHeaders = await session();
    const response = await fetch(gmail.mcpUrl, {
      method: 'POST',
      headers: sessionHeaders,
      body: `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"GMAIL_FETCH_EMAILS","arguments":{"user_id":"me","x":${deepObject(6_000)}}}}`,
    });
    expect(response.status).toBe(200);
    const text = await response.text();
    const frame = JSON.parse(/^data: (.*)$/m.exec(text)?.[1] ?? text) as {
      error?: { code: number; message: string };
    };
    expect(frame.error?.code).toBe(-32602);
    expect(frame.error?.message).toContain(`is nested deeper than ${jsonLimits.maxDepth} levels`);
  });

  it('answers malformed JSON and other body types in JSON-RPC form', async () => {
    const broken = await fetch(gmail.mcpUrl, { method: 'POST', headers, body: '{"jsonrpc":' });
    expect(broken.status).toBe(400);
    expect(await broken.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32700 }, id: null });
    const text = await fetch(gmail.mcpUrl, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(text.status).toBeGreaterThanOrEqual(400);
    expect(text.status).toBeLessThan(500);
    const huge = await fetch(gmail.mcpUrl, { method: 'POST', headers, body: `"${'x'.repeat(1_100_000)}"` });
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32600 } });
  });

  it('serves discovery whatever the query string', async () => {
    for (const query of ['?x=%E0%A4%A', `?${'a[b]=1&'.repeat(2_000)}`, '?__proto__[x]=1']) {
      const response = await fetch(`${gmail.url}/mcp/discover${query}`);
      expect(response.status).toBe(200);
    }
  });
});
