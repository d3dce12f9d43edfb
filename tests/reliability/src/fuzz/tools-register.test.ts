import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkProperty, printFigures } from '../budget.ts';
import { guardProcess } from '../process-guard.ts';
import { hostileJson, hostileString, shapedObject } from './arbitraries.ts';
import { expectTypedAnswer } from './http.ts';
import { expectUnpolluted, text } from './invariants.ts';
import { freePort, parsed, post, requestBody } from './requests.ts';
import { type TransportTarget, useTransportTarget } from './transport-target.ts';

// `POST /api/v1/tools/register` with a real MCP registry behind it: any body gets 201 or a typed
// 4xx, and no request can make the server run a command or reach a loopback address (finding 1).
guardProcess();
const target = useTransportTarget('tools/register');

describe('POST /api/v1/tools/register', () => {
  it('answers any registration with 201 or a typed 4xx, and never starts a process from a request', async () => {
    const closedPort = await freePort();
    const url = fc.oneof(
      fc.constantFrom(
        `http://127.0.0.1:${closedPort}/mcp`,
        'not a url',
        'file:///etc/passwd',
        'ftp://x/',
        'http://',
        '',
      ),
      hostileString,
    );
    const body = shapedObject({
      name: fc.oneof(fc.constantFrom('fz-a', 'fz-b', 'steward'), hostileString).map(text),
      transport: fc.oneof(fc.constantFrom('streamable-http', 'sse', 'stdio'), hostileString).map(text),
      url: url.map(text),
      // A stdio server from a request would run this command: it must never get that far (finding 1).
      command: fc.constantFrom(process.execPath, 'steward-no-such-command').map(text),
      args: fc.constant(text('-e')).map((flag) => `[${flag},${text('process.exit(0)')}]`),
      readOnlyTools: fc
        .array(hostileString.map(text), { maxLength: 2 })
        .map((items) => `[${items.join(',')}]`),
      headers: hostileJson,
      serviceAuth: fc.oneof(fc.constant('{}'), hostileJson),
    });
    await checkProperty(
      'tools/register',
      fc.asyncProperty(requestBody(body), async (input) => {
        const answer = await post(target().url, '/api/v1/tools/register', target().adminToken, input);
        expectTypedAnswer(answer, 'register');
        expectUnpolluted();
        if (answer.status === 201)
          expect(parsed(input.body)?.transport, 'a stdio server was registered over HTTP').not.toBe('stdio');
      }),
      500,
    );
  });

  it('refuses a registration from a user without the admin role, whatever the body', async () => {
    await checkProperty(
      'tools/register without admin',
      fc.asyncProperty(requestBody(hostileJson), async (input) => {
        const answer = await post(target().url, '/api/v1/tools/register', target().ann.token, input);
        expectTypedAnswer(answer, 'register');
        expect(answer.status).toBe(403);
      }),
      200,
    );
  });
});

describe('registration trust (finding 1)', () => {
  it('never starts a command from a request: a stdio registration is refused and its command never runs', async () => {
    const marker = join(tmpdir(), `steward-reliability-stdio-${process.pid}`);
    rmSync(marker, { force: true });
    const script = `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'ran')`;
    const config = fc.record(
      {
        name: fc.constantFrom('fz-stdio', 'local-tools'),
        transport: fc.constant('stdio'),
        command: fc.constant(process.execPath),
        args: fc.constant(['-e', script]),
        env: fc.constant({ PATH: process.env.PATH ?? '' }),
        cwd: fc.constant(tmpdir()),
        readOnlyTools: fc.constant([]),
      },
      { requiredKeys: ['name', 'transport', 'command', 'args'] },
    );
    try {
      await checkProperty(
        'register stdio',
        fc.asyncProperty(config, async (body) => {
          const answer = await post(target().url, '/api/v1/tools/register', target().adminToken, {
            body: JSON.stringify(body),
            type: 'application/json',
            framing: { chunked: false },
          });
          expectTypedAnswer(answer, 'register stdio');
          expect(
            answer.status,
            `a stdio server was registered over HTTP: ${answer.text.slice(0, 200)}`,
          ).toBeGreaterThanOrEqual(400);
        }),
        10,
      );
      // A spawned command would have written the marker before the registration answered.
      expect(existsSync(marker), 'the registered command ran on the server').toBe(false);
    } finally {
      // Today the registry keeps respawning it: stop that for the rest of the file.
      await target().registry.unregister('fz-stdio');
      await target().registry.unregister('local-tools');
      rmSync(marker, { force: true });
    }
  });

  it('refuses network registrations to loopback addresses when no allowlist admits them (no SSRF)', async () => {
    const closedPort = await freePort();
    const url = fc.constantFrom(
      `http://127.0.0.1:${closedPort}/mcp`,
      `http://localhost:${closedPort}/mcp`,
      `http://[::1]:${closedPort}/mcp`,
      `http://127.1:${closedPort}/mcp`,
      `http://2130706433:${closedPort}/mcp`,
      `http://0.0.0.0:${closedPort}/mcp`,
    );
    await checkProperty(
      'register loopback',
      fc.asyncProperty(url, fc.constantFrom('streamable-http', 'sse'), async (address, transport) => {
        const answer = await post(target().url, '/api/v1/tools/register', target().adminToken, {
          body: JSON.stringify({ name: 'fz-loopback', transport, url: address }),
          type: 'application/json',
          framing: { chunked: false },
        });
        expectTypedAnswer(answer, 'register loopback');
        expect(
          answer.status,
          `${address} was registered: ${answer.text.slice(0, 200)}`,
        ).toBeGreaterThanOrEqual(400);
      }),
      12,
    );
  });
});
