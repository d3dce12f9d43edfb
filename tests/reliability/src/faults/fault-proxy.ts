import { connect, createServer, type Server, type Socket } from 'node:net';

/** A TCP proxy whose connections a test faults on purpose, from {@link startFaultProxy}. */
export interface FaultProxy {
  readonly port: number;
  /** Open client connections (each with its upstream). */
  readonly connections: number;
  /** Faults injected so far, by kind (each call counts once, whatever the number of connections). */
  readonly faults: Readonly<Record<'pause' | 'cut' | 'reset', number>>;
  /**
   * Holds bytes, on open and new connections, until {@link resume}: `both` directions (a stalled
   * network), or only `replies` (server to client: the server has run the command, the client
   * has not heard so, and retries it after a cut).
   */
  pause(direction?: 'both' | 'replies'): void;
  /** Delivers what was held, in order, and lets bytes flow again. */
  resume(): void;
  /** Ends both sides of every open connection (FIN), dropping what was held. */
  cut(): void;
  /** Destroys both sides of every open connection with a TCP RST, dropping what was held. */
  reset(): void;
  close(): Promise<void>;
}

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
  /** Bytes held while paused, per direction, in arrival order. */
  readonly held: { readonly to: Socket; readonly chunk: Buffer }[];
}

/**
 * A TCP proxy in front of `host:targetPort` (PostgreSQL, Redis, anything). Unlike a plain pipe it
 * can hold bytes (a stalled network: the peers see no error, just silence), then release them,
 * end the connections cleanly or reset them. `startTcpProxy` in `@steward/transport-ws/testing`
 * only drops connections; these faults are what a database client's retry logic meets.
 */
export async function startFaultProxy(targetPort: number, host = '127.0.0.1'): Promise<FaultProxy> {
  const pairs = new Set<Pair>();
  const faults = { pause: 0, cut: 0, reset: 0 };
  let paused: 'both' | 'replies' | undefined;

  const forward = (pair: Pair, to: Socket) => (chunk: Buffer) => {
    if (paused === 'both' || (paused === 'replies' && to === pair.client)) pair.held.push({ to, chunk });
    else if (!to.destroyed) to.write(chunk);
  };
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, host);
    const pair: Pair = { client, upstream, held: [] };
    pairs.add(pair);
    client.on('data', forward(pair, upstream));
    upstream.on('data', forward(pair, client));
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client
      .on('error', drop)
      .on('close', drop)
      .on('end', () => upstream.end());
    upstream
      .on('error', drop)
      .on('close', drop)
      .on('end', () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;

  const each = (action: (pair: Pair) => void) => {
    for (const pair of [...pairs]) {
      pair.held.length = 0;
      pairs.delete(pair);
      action(pair);
    }
  };
  return {
    port,
    get connections() {
      return pairs.size;
    },
    faults,
    pause(direction = 'both') {
      faults.pause++;
      paused = direction;
    },
    resume() {
      paused = undefined;
      for (const pair of pairs)
        for (const { to, chunk } of pair.held.splice(0)) if (!to.destroyed) to.write(chunk);
    },
    cut() {
      faults.cut++;
      each(({ client, upstream }) => {
        client.end();
        upstream.end();
        // A peer that never answers the FIN must not keep the socket: gone after a moment.
        setTimeout(() => {
          client.destroy();
          upstream.destroy();
        }, 1_000).unref();
      });
    },
    reset() {
      faults.reset++;
      each(({ client, upstream }) => {
        client.resetAndDestroy();
        upstream.resetAndDestroy();
      });
    },
    close: () =>
      new Promise((resolve) => {
        each(({ client, upstream }) => {
          client.destroy();
          upstream.destroy();
        });
        server.close(() => resolve());
      }),
  };
}
