import { connect, createServer, type Socket } from 'node:net';

/** @internal A TCP proxy whose replies a test can hold and whose connections it can cut. */
export interface FaultProxy {
  readonly port: number;
  /** Bytes the client sent the server since the proxy started: a request went out when it rises. */
  readonly forwarded: () => number;
  /** From now on the server's answers never reach the client: it waits for a reply until a cut. */
  hold(): void;
  /** Drops every open connection, and any held reply with it, as a network failure would. */
  cut(): void;
  close(): Promise<void>;
}

/**
 * @internal A proxy in front of `127.0.0.1:targetPort` for fault tests: hold the server's replies,
 * then cut, and the client sees a request that may or may not have been applied.
 */
export async function startFaultProxy(targetPort: number): Promise<FaultProxy> {
  const pairs = new Set<[Socket, Socket]>();
  let holding = false;
  let forwarded = 0;
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.on('data', (chunk: Buffer) => {
      forwarded += chunk.length;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!holding) client.write(chunk);
    });
    const drop = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const cut = () => {
    holding = false;
    for (const [client, upstream] of pairs) {
      client.destroy();
      upstream.destroy();
    }
    pairs.clear();
  };
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    forwarded: () => forwarded,
    hold() {
      holding = true;
    },
    cut,
    close: () =>
      new Promise((resolve) => {
        cut();
        server.close(() => resolve());
      }),
  };
}
