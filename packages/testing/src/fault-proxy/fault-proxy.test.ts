import { connect, createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type FaultProxy, startFaultProxy } from './fault-proxy.ts';

// The proxy itself, against an echo server that records what reached it: each fault does what
// the fault tests of the storages, transports and the reliability suite rely on.
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function echoBehindProxy(): Promise<{ proxy: FaultProxy; reached: () => string }> {
  let reached = '';
  const echo = createServer((socket) => {
    socket.on('data', (chunk) => {
      reached += chunk.toString();
      socket.write(chunk);
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => echo.close(() => resolve())));
  const proxy = await startFaultProxy((echo.address() as { port: number }).port);
  cleanups.push(() => proxy.close());
  return { proxy, reached: () => reached };
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
    socket.on('close', () => resolve('end'));
  });
  const connected = new Promise((resolve) => socket.once('connect', resolve));
  cleanups.push(async () => {
    socket.destroy();
  });
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

describe('startFaultProxy', () => {
  it('passes bytes through, holds both ways while paused, and delivers them in order on resume', async () => {
    const { proxy, reached } = await echoBehindProxy();
    expect(proxy.url).toBe(`http://127.0.0.1:${proxy.port}`);
    const peer = client(proxy);
    await peer.connected;
    peer.socket.write('one ');
    await peer.until('one ');
    proxy.pause();
    peer.socket.write('two ');
    peer.socket.write('three');
    // Both writes are in the proxy, and the server has seen neither.
    await expect.poll(() => proxy.heldBytes).toBe(9);
    expect(reached()).toBe('one ');
    expect(peer.received).toBe('one ');
    proxy.resume();
    await peer.until('three');
    expect(peer.received).toBe('one two three');
    expect(proxy.heldBytes).toBe(0);
    expect(proxy.forwardedBytes).toBe(13);
    expect(proxy.faults).toEqual({ pause: 1, cut: 0, reset: 0, block: 0 });
  });

  it('holds only replies when asked: the request reaches the server, its answer waits', async () => {
    const { proxy, reached } = await echoBehindProxy();
    const peer = client(proxy);
    await peer.connected;
    proxy.pause('replies');
    peer.socket.write('ping');
    // The echo is back at the proxy, so the server did get the request.
    await expect.poll(() => proxy.heldBytes).toBe(4);
    expect(reached()).toBe('ping');
    expect(peer.received).toBe('');
    proxy.cut();
    expect(await peer.ended).toBe('end');
    expect(peer.received).toBe('');
  });

  it('cuts with a clean end, and resets with ECONNRESET', async () => {
    const { proxy } = await echoBehindProxy();
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
    expect(proxy.faults).toEqual({ pause: 0, cut: 1, reset: 1, block: 0 });
  });

  it('refuses new connections while blocked and leaves open ones alone', async () => {
    const { proxy } = await echoBehindProxy();
    const open = client(proxy);
    await open.connected;
    await expect.poll(() => proxy.connections).toBe(1);
    proxy.block(true);
    const refused = client(proxy);
    expect(await refused.ended).toBe('end');
    open.socket.write('still here');
    await open.until('still here');
    proxy.block(false);
    const again = client(proxy);
    await again.connected;
    again.socket.write('back');
    await again.until('back');
    expect(proxy.faults.block).toBe(1);
  });

  it('refuses a port that is not one with a typed error', async () => {
    for (const port of [0, 70_000, 1.5])
      await expect(startFaultProxy(port)).rejects.toMatchObject({ code: 'invalid_options' });
  });
});
