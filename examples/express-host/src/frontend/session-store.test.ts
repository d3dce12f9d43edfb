import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { createClient } from 'redis';
import { afterAll, describe, expect, it } from 'vitest';
import { hostOptionsFromEnvironment } from '../environment.ts';
import { type ExpressHost, startExpressHost } from '../host.ts';
import { createWebSessionStore } from './session-store.ts';
import { TestBrowser } from './test-browser.ts';

const redisUrl = new URL(process.env.STEWARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
const prefix = `steward-web-session-store-${process.pid}-${Date.now().toString(36)}:`;

/** A port nothing listens on: one the system handed out and took back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A TCP proxy to Redis that a test can cut, as a network failure would. */
async function redisProxy(): Promise<{ url: string; cut(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(Number(redisUrl.port || 6379), redisUrl.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `redis://127.0.0.1:${port}`,
    cut: async () => {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

const hosts: ExpressHost[] = [];
afterAll(async () => {
  for (const host of hosts.splice(0)) await host.stop();
  const redis = createClient({ url: redisUrl.href });
  await redis.connect();
  const keys: string[] = [];
  for await (const batch of redis.scanIterator({ MATCH: `${prefix}*` })) keys.push(...batch);
  if (keys.length > 0) await redis.del(keys);
  await redis.close();
});

describe('createWebSessionStore', () => {
  it('refuses bad options with the field named', async () => {
    await expect(createWebSessionStore({ type: 'redis', url: 'http://example.com' })).rejects.toThrow(/url/);
    await expect(
      createWebSessionStore({ type: 'postgres', url: 'postgresql://x/y', schema: 'bad name' }),
    ).rejects.toThrow(/schema/);
  });

  it('fails at start, quickly, when Redis or PostgreSQL cannot be reached', async () => {
    const port = await closedPort();
    const warnings: unknown[] = [];
    const onWarning = (error: unknown) => warnings.push(error);
    await expect(
      createWebSessionStore({ type: 'redis', url: `redis://127.0.0.1:${port}` }, { onWarning }),
    ).rejects.toThrow(/ECONNREFUSED/);
    await expect(
      createWebSessionStore(
        { type: 'postgres', url: `postgresql://postgres@127.0.0.1:${port}/x` },
        { onWarning },
      ),
    ).rejects.toThrow(/ECONNREFUSED/);
  });

  it('answers 503 while Redis is unreachable, and the process carries on', async () => {
    const proxy = await redisProxy();
    const host = await startExpressHost({
      devSignIn: true,
      oidc: false,
      chunkDelayMs: 0,
      sessions: { store: { type: 'redis', url: proxy.url, prefix } },
    });
    hosts.push(host);
    const browser = new TestBrowser(host.url);
    expect((await browser.login('outage')).status).toBe(303);
    await proxy.cut();
    for (const accept of ['text/html', 'application/json']) {
      const response = await browser.request('/chat', { headers: { accept } });
      expect(response.status).toBe(503);
      if (accept === 'application/json')
        expect(await response.json()).toMatchObject({ error: { code: 'sessions_unavailable' } });
    }
    // Pages that need no session still work.
    expect((await fetch(`${host.url}/static/chat.js`)).status).toBe(200);
  });
});

describe('hostOptionsFromEnvironment', () => {
  it('reads the session store, lifetimes, cookie and proxy settings', () => {
    expect(
      hostOptionsFromEnvironment({
        SESSION_STORE_URL: 'redis://cache:6379/2',
        SESSION_KEY_PREFIX: 'app:sess:',
        SESSION_IDLE_MS: '600000',
        SESSION_ABSOLUTE_MS: '3600000',
        SECURE_COOKIES: 'true',
        TRUST_PROXY: '1',
      }),
    ).toEqual({
      sessions: {
        store: { type: 'redis', url: 'redis://cache:6379/2', prefix: 'app:sess:' },
        idleMs: 600_000,
        absoluteMs: 3_600_000,
      },
      secureCookies: true,
      trustProxy: 1,
    });
    expect(
      hostOptionsFromEnvironment({ SESSION_STORE_URL: 'postgresql://db/app', SESSION_SCHEMA: 'web' })
        .sessions,
    ).toEqual({ store: { type: 'postgres', url: 'postgresql://db/app', schema: 'web' } });
    expect(hostOptionsFromEnvironment({}).sessions).toEqual({});
  });

  it('names each bad variable', () => {
    expect(() =>
      hostOptionsFromEnvironment({
        SESSION_STORE_URL: 'mysql://db',
        SESSION_IDLE_MS: 'soon',
        SESSION_SECRET: 'short',
      }),
    ).toThrow(/SESSION_STORE_URL[\s\S]*SESSION_IDLE_MS|SESSION_IDLE_MS[\s\S]*SESSION_STORE_URL/);
  });
});
