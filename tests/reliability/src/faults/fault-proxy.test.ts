import { connect, createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type FaultProxy, startFaultProxy } from './fault-proxy.ts';

// The proxy itself, against an echo server: each fault does what the scenarios rely on.
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function echoBehindProxy(): Promise<FaultProxy> {
  const echo = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  const proxy = await startFaultProxy((echo.address() as { port: number }).port);
  cleanups.push(async () => {
    await proxy.close();
    await new Promise((resolve) => echo.close(resolve));
  });
  return proxy;
}

function client(proxy: FaultProxy) {
  const socket: Socket = connect(proxy.port, '127.0.0.1');
  let received = '';
  const listeners: (() => void)[] = [];
  socket.on('data', (chunk) => {
    received += chunk.toString();
    for (const listener of listeners.splice(0)) listener();
  });
  const ended = new Promise<'end' | 'reset'>((resolve) => {
    socket.on('error', (error: NodeJS.ErrnoException) =>
      resolve(error.code === 'ECONNRESET' ? 'reset' : 'end'),
    );
    socket.on('end', () => resolve('end'));
  });
  const connected = new Promise((resolve) => socket.once('connect', resolve));
  return {
    socket,
    connected,
    ended,
    get received() {
      return received;
    },
    /** Resolves once `text` has arrived in full. */
    until: (text: string) =>
      new Promise<void>((resolve) => {
        const check = () => (received.includes(text) ? resolve() : listeners.push(check));
        check();
      }),
  };
}

describe('the fault proxy', () => {
  it('passes bytes through, holds them while paused, and delivers them in order on resume', async () => {
    const proxy = await echoBehindProxy();
    const peer = client(proxy);
    await peer.connected;
    peer.socket.write('one ');
    await peer.until('one ');
    proxy.pause();
    peer.socket.write('two ');
    peer.socket.write('three');
    // Held: a round trip through the proxy and back cannot have completed (the echo is behind it).
    await new Promise((resolve) => setImmediate(resolve));
    expect(peer.received).toBe('one ');
    proxy.resume();
    await peer.until('three');
    expect(peer.received).toBe('one two three');
    expect(proxy.faults).toEqual({ pause: 1, cut: 0, reset: 0 });
  });

  it('cuts with a clean end, and resets with ECONNRESET', async () => {
    const proxy = await echoBehindProxy();
    const cut = client(proxy);
    await cut.connected;
    await expect.poll(() => proxy.connections).toBe(1);
    proxy.cut();
    expect(await cut.ended).toBe('end');
    const reset = client(proxy);
    await reset.connected;
    await expect.poll(() => proxy.connections).toBe(1);
    proxy.reset();
    expect(await reset.ended).toBe('reset');
    expect(proxy.faults).toEqual({ pause: 0, cut: 1, reset: 1 });
  });
});
