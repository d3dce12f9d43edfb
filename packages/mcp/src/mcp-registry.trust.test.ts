import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type MockMcpServer, startMockMcpServer } from '@steward/testing/mock-mcp';
import { afterEach, describe, expect, it } from 'vitest';
import { createMcpRegistry, type McpRegistry } from './mcp-registry.ts';
import { createInMemoryRegistrationStore } from './registration-store.ts';
import { allowLocal, callContext, mockStdioEntry, startRecordingServer } from './test-helpers.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
const track = <T extends McpRegistry | MockMcpServer>(value: T): T => {
  cleanups.push(() => value.close());
  return value;
};

/** A command that, if it ever ran, would leave `marker` behind. */
async function markerCommand() {
  const marker = join(await mkdtemp(join(tmpdir(), 'steward-trust-')), 'spawned');
  const script = `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'ran')`;
  return { marker, command: process.execPath, args: ['-e', script] };
}

const issueOf = (error: unknown) => (error as { details?: { issues?: unknown[] } }).details?.issues?.[0];

describe('registrations never run a command', () => {
  it('refuses the issue’s attack, a stdio registration, with a typed error; nothing is spawned or stored', async () => {
    const { marker, command, args } = await markerCommand();
    const store = createInMemoryRegistrationStore();
    // Even a policy that allows every origin and address has no say over commands.
    const registry = track(
      createMcpRegistry({
        store,
        registrations: { allowedOrigins: ['*'], allowedNetworks: ['0.0.0.0/0', '::/0'] },
      }),
    );
    const error = await registry
      .register({ name: 'pwn', transport: 'stdio', command, args } as never)
      .catch((failure: unknown) => failure);
    expect(error).toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/transport: stdio cannot be registered/),
    });
    expect(issueOf(error)).toMatchObject({ path: ['transport'], code: 'transport_not_allowed' });
    expect(existsSync(marker)).toBe(false);
    expect(await store.list()).toEqual([]);
    expect(registry.status()).toEqual([]);
  });

  it('does not spawn a stored stdio row on load unless the operator allows exactly that command', async () => {
    const { marker, command, args } = await markerCommand();
    const store = createInMemoryRegistrationStore();
    // Rows are plain data anyone with database access could write.
    const rows = [
      { name: 'planted', transport: 'stdio', command, args },
      { name: 'local', transport: 'stdio', command: process.execPath, args: [mockStdioEntry] },
    ];
    for (const row of rows) await store.save(row as never);

    const warnings: string[] = [];
    const closed = track(
      createMcpRegistry({ store, onWarning: (warning) => warnings.push(warning.message) }),
    );
    await closed.ready();
    expect(closed.status()).toEqual([]);
    expect(await closed.listTools()).toEqual([]);
    expect(
      warnings.filter((warning) => /names a stdio command, which was not spawned/.test(warning)),
    ).toHaveLength(2);

    // The operator allows the mock server's command, and the planted command with other args: not the same command.
    const allowing = track(
      createMcpRegistry({
        store,
        registrations: {
          allowedCommands: [
            { command: process.execPath, args: [mockStdioEntry] },
            { command, args: ['-e', 'void 0'] },
          ],
        },
      }),
    );
    await allowing.ready();
    expect(allowing.status()).toMatchObject([{ name: 'local', state: 'connected', transport: 'stdio' }]);
    await expect(allowing.callTool('local__echo', { text: 'allowed' }, callContext().context)).resolves.toBe(
      'allowed',
    );
    expect(existsSync(marker)).toBe(false);
    // Nothing was deleted: the rows are the operator's to clean up.
    expect(await store.list()).toHaveLength(2);
  });

  it('keeps the operator’s own servers out of reach of registrations and stored rows', async () => {
    const server = track(await startMockMcpServer());
    const { marker, command, args } = await markerCommand();
    const store = createInMemoryRegistrationStore();
    await store.save({ name: 'local', transport: 'stdio', command, args } as never);
    const registry = track(
      createMcpRegistry({
        store,
        servers: [{ name: 'local', transport: 'stdio', command: process.execPath, args: [mockStdioEntry] }],
        registrations: allowLocal(server.url),
      }),
    );
    await registry.ready();
    expect(registry.status()).toMatchObject([{ name: 'local', state: 'connected' }]);
    const error = await registry
      .register({ name: 'local', transport: 'streamable-http', url: server.url })
      .catch((failure: unknown) => failure);
    expect(issueOf(error)).toMatchObject({ path: ['name'], code: 'name_reserved' });
    expect(existsSync(marker)).toBe(false);
    // The operator's servers come from configuration at every start: they are never stored.
    expect(await store.list()).toEqual([{ name: 'local', transport: 'stdio', command, args }]);
  });
});

describe('registrations reach only what the operator allows', () => {
  it('refuses every registration until the operator allows origins', async () => {
    const server = await startRecordingServer('streamable-http');
    cleanups.push(() => server.close());
    const registry = track(createMcpRegistry());
    const error = await registry
      .register({ name: 'mock', transport: 'streamable-http', url: server.url })
      .catch((failure: unknown) => failure);
    expect(issueOf(error)).toMatchObject({ path: ['url'], code: 'origin_not_allowed' });
    expect(server.requests).toEqual([]);
  });

  it('refuses hosts that are or resolve to loopback, private or link-local addresses unless allowed', async () => {
    const server = await startRecordingServer('streamable-http');
    cleanups.push(() => server.close());
    const port = new URL(server.url).port;
    const registry = track(createMcpRegistry({ registrations: { allowedOrigins: ['*'] } }));
    const urls = [
      `http://localhost:${port}/mcp`,
      `http://127.0.0.1:${port}/mcp`,
      `http://2130706433:${port}/mcp`,
      `http://[::1]:${port}/mcp`,
      `http://[::ffff:127.0.0.1]:${port}/mcp`,
      `http://0.0.0.0:${port}/mcp`,
      `http://[::]:${port}/mcp`,
      'http://169.254.169.254/latest/meta-data',
      'http://10.1.2.3/mcp',
      'http://100.64.0.1/mcp',
      'http://[fd00::1]/mcp',
      'http://[fe80::1]/mcp',
    ];
    for (const url of urls) {
      const error = await registry
        .register({ name: 'probe', transport: 'streamable-http', url })
        .catch((failure: unknown) => failure);
      expect(issueOf(error), url).toMatchObject({ path: ['url'], code: 'address_not_allowed' });
    }
    expect(server.requests).toEqual([]);
    expect(registry.status()).toEqual([]);

    const local = track(
      createMcpRegistry({
        registrations: {
          allowedOrigins: [`http://localhost:${port}`],
          allowedNetworks: ['127.0.0.0/8', '::1'],
        },
      }),
    );
    await expect(
      local.register({ name: 'mock', transport: 'streamable-http', url: `http://localhost:${port}/mcp` }),
    ).resolves.toMatchObject({ state: 'connected' });
  });

  it('checks the name again on every connection, so DNS that changes after registration reaches nothing private', async () => {
    const server = await startRecordingServer('streamable-http');
    cleanups.push(() => server.close());
    const port = new URL(server.url).port;
    const answers = ['93.184.216.34', '127.0.0.1'];
    const lookups: string[] = [];
    const registry = track(
      createMcpRegistry({
        registrations: { allowedOrigins: [`http://tools.example.test:${port}`] },
        connectTimeoutMs: 2_000,
        _internal: {
          lookup: async (hostname) => {
            lookups.push(hostname);
            return [
              { address: answers[Math.min(lookups.length - 1, answers.length - 1)] as string, family: 4 },
            ];
          },
        },
      }),
    );
    const status = await registry.register({
      name: 'rebound',
      transport: 'streamable-http',
      url: `http://tools.example.test:${port}/mcp`,
    });
    expect(lookups.length).toBeGreaterThanOrEqual(2);
    expect(status).toMatchObject({
      state: 'connecting',
      lastError: expect.stringMatching(/tools\.example\.test resolves to 127\.0\.0\.1, a loopback address/),
    });
    expect(server.requests).toEqual([]);
  });

  it('connects an allowed origin end to end, and refuses a redirect away from it', async () => {
    const server = track(await startMockMcpServer());
    const registry = track(createMcpRegistry({ registrations: allowLocal(server.url) }));
    await expect(
      registry.register({
        name: 'mock',
        transport: 'streamable-http',
        url: server.url,
        readOnlyTools: ['echo'],
      }),
    ).resolves.toMatchObject({ state: 'connected' });
    await expect(registry.callTool('mock__echo', { text: 'hello' }, callContext().context)).resolves.toBe(
      'hello',
    );

    // An allowed server that redirects elsewhere (here: to another local server) gets nowhere.
    const elsewhere = await startRecordingServer('streamable-http');
    cleanups.push(() => elsewhere.close());
    const redirects = createServer((_request, response) => {
      response.writeHead(307, { location: elsewhere.url }).end();
    });
    await new Promise<void>((resolve) => redirects.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => redirects.close(resolve)));
    const redirectUrl = `http://127.0.0.1:${(redirects.address() as AddressInfo).port}/mcp`;
    const both = track(
      createMcpRegistry({ registrations: allowLocal(redirectUrl), connectTimeoutMs: 2_000 }),
    );
    const status = await both.register({ name: 'moved', transport: 'streamable-http', url: redirectUrl });
    expect(status.state).not.toBe('connected');
    expect(elsewhere.requests).toEqual([]);
  });
});
