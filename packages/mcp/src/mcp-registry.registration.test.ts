import { startMockMcpServer } from '@steward/testing/mock-mcp';
import { describe, expect, it } from 'vitest';
import { createMcpRegistry } from './mcp-registry.ts';
import { createInMemoryRegistrationStore } from './registration-store.ts';
import { allowLocal, callContext, startEverythingHttp } from './test-helpers.ts';

describe('registration', () => {
  it('keeps registrations in the store, so a new registry reconnects them after a restart', async () => {
    const server = await startMockMcpServer();
    const store = createInMemoryRegistrationStore();
    const first = createMcpRegistry({ store, registrations: allowLocal(server.url) });
    await first.register({
      name: 'mock',
      transport: 'streamable-http',
      url: server.url,
      readOnlyTools: ['echo'],
    });
    expect(first.list().map((config) => config.name)).toEqual(['mock']);
    await first.close();

    const second = createMcpRegistry({ store, registrations: allowLocal(server.url) });
    await second.ready();
    expect(second.status()).toMatchObject([{ name: 'mock', state: 'connected' }]);
    await expect(second.callTool('mock__echo', { text: 'still here' }, callContext().context)).resolves.toBe(
      'still here',
    );
    expect(await second.unregister('mock')).toBe(true);
    expect(await store.list()).toEqual([]);
    expect(await second.listTools()).toEqual([]);
    await second.close();
    await server.close();
  });

  it('rejects a bad registration with a typed error and stores nothing', async () => {
    const store = createInMemoryRegistrationStore();
    const registry = createMcpRegistry({ store });
    for (const bad of [
      { name: 'has space', transport: 'streamable-http', url: 'http://127.0.0.1/mcp' },
      { name: 'ok', transport: 'streamable-http', url: 'not a url' },
      { name: 'ok', transport: 'stdio' },
      { name: 'ok', transport: 'carrier-pigeon', url: 'http://127.0.0.1/mcp' },
      { name: 'steward', transport: 'streamable-http', url: 'http://127.0.0.1/mcp' },
    ]) {
      await expect(registry.register(bad as never)).rejects.toMatchObject({ code: 'invalid_input' });
    }
    expect(await store.list()).toEqual([]);
    await registry.close();
  });

  it('lets the last of concurrent register and unregister calls decide', async () => {
    const server = await startMockMcpServer();
    const registry = createMcpRegistry({ registrations: allowLocal(server.url) });
    const registering = registry.register({ name: 'mock', transport: 'streamable-http', url: server.url });
    await registry.unregister('mock');
    await registering;
    expect(registry.status().filter((status) => status.state !== 'closed')).toEqual([]);
    expect(await registry.listTools()).toEqual([]);
    const changed = await Promise.all([
      registry.register({ name: 'mock', transport: 'streamable-http', url: server.url }),
      registry.register({
        name: 'mock',
        transport: 'streamable-http',
        url: server.url,
        callTimeoutMs: 5_000,
      }),
    ]);
    expect(changed.map((status) => status.state)).toEqual(['closed', 'connected']);
    expect(registry.status()).toHaveLength(1);
    await registry.close();
    await server.close();
  });

  it('joins the same registration made again while it connects, so neither caller is told it closed', async () => {
    // Another replica's sync reads the row the first call just stored, and registers it too.
    const server = await startMockMcpServer();
    const registry = createMcpRegistry({ registrations: allowLocal(server.url) });
    const registration = { name: 'mock', transport: 'streamable-http', url: server.url } as const;
    const twice = await Promise.all([
      registry.register(registration),
      registry.register({ ...registration }),
    ]);
    expect(twice.map((status) => status.state)).toEqual(['connected', 'connected']);
    expect(registry.status()).toMatchObject([{ name: 'mock', state: 'connected' }]);
    await registry.close();
    await server.close();
  });

  it('falls back to legacy HTTP+SSE when Streamable HTTP answers 4xx on initialize', async () => {
    const sse = await startEverythingHttp('sse');
    const registry = createMcpRegistry({
      servers: [{ name: 'legacy', transport: 'streamable-http', url: sse.url }],
    });
    try {
      await registry.ready();
      expect(registry.status()).toMatchObject([{ name: 'legacy', state: 'connected', transport: 'sse' }]);
      await expect(
        registry.callTool('legacy__echo', { message: 'old' }, callContext().context),
      ).resolves.toBe('Echo: old');
    } finally {
      await registry.close();
      await sse.stop();
    }
  });
});
