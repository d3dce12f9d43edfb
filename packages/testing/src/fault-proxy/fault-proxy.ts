import { connect, createServer, type Server, type Socket } from 'node:net';
import { parseOptions } from '@steward/core';
import { z } from 'zod';

/** The faults a {@link FaultProxy} counts. */
export type FaultKind = 'pause' | 'cut' | 'reset' | 'block';

/** A TCP proxy whose connections a test faults on purpose, from {@link startFaultProxy}. */
export interface FaultProxy {
  /** The port the proxy listens on, at 127.0.0.1. */
  readonly port: number;
  /** `http://127.0.0.1:<port>`, for an HTTP or WebSocket server behind the proxy. */
  readonly url: string;
  /** Open client connections (each with its upstream). */
  readonly connections: number;
  /**
   * Bytes clients have sent toward the target since the proxy started, held ones included: when
   * it rises, a request went out.
   */
  readonly forwardedBytes: number;
  /** Bytes held by a pause right now, both directions: a held reply has reached the proxy when it rises. */
  readonly heldBytes: number;
  /** Faults injected so far, by kind (each call counts once, whatever the number of connections). */
  readonly faults: Readonly<Record<FaultKind, number>>;
  /**
   * Holds bytes, on open and new connections, until {@link FaultProxy.resume}: `both` directions
   * (a stalled network: the peers see no error, just silence), or only `replies` (target to
   * client: the server has run the command, the client has not heard so, and retries it after a
   * cut). A cut or reset does not end the pause; call `resume` for the next connections.
   */
  pause(direction?: 'both' | 'replies'): void;
  /** Delivers what was held, in order, and lets bytes flow again. */
  resume(): void;
  /** Ends both sides of every open connection (FIN), dropping what was held. */
  cut(): void;
  /** Destroys both sides of every open connection with a TCP RST, dropping what was held. */
  reset(): void;
  /**
   * While blocked, a new connection is closed as soon as it is accepted: the target looks
   * unreachable. Open connections are left alone (cut them too for a full outage).
   */
  block(blocked: boolean): void;
  /** Closes every connection and stops listening. */
  close(): Promise<void>;
}

/** Options of {@link startFaultProxy}. */
export interface FaultProxyOptions {
  /** The target's host. Default `127.0.0.1`. */
  host?: string;
}

const optionsSchema = z.object({
  targetPort: z.number().int().min(1).max(65_535),
  host: z.string().min(1).default('127.0.0.1'),
});

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
  /** Bytes held while paused, both directions, in arrival order. */
  readonly held: { readonly to: Socket; readonly chunk: Buffer }[];
}

/**
 * Starts a TCP proxy at 127.0.0.1 in front of `host:targetPort` (PostgreSQL, Redis, an HTTP or
 * WebSocket server, anything) whose connections a test faults for real: hold bytes (both ways or
 * only replies) and release them, end connections cleanly, reset them, or refuse new ones. These
 * are the faults a client's retry, reconnect and resume logic meets. Node only.
 *
 * @example
 * ```ts
 * import { startFaultProxy } from '@steward/testing/fault-proxy';
 *
 * const proxy = await startFaultProxy(6379);
 * const redis = new Redis(`redis://127.0.0.1:${proxy.port}`);
 * proxy.pause('replies'); // Redis applies the next command; its reply is held
 * proxy.cut();            // the client never hears it, reconnects and resends
 * proxy.resume();
 * ```
 */
export async function startFaultProxy(
  targetPort: number,
  options: FaultProxyOptions = {},
): Promise<FaultProxy> {
  const { targetPort: port, host } = parseOptions(
    optionsSchema,
    { ...options, targetPort },
    'startFaultProxy',
  );
  const pairs = new Set<Pair>();
  const faults: Record<FaultKind, number> = { pause: 0, cut: 0, reset: 0, block: 0 };
  let paused: 'both' | 'replies' | undefined;
  let blocked = false;
  let forwardedBytes = 0;

  const forward = (pair: Pair, to: Socket) => (chunk: Buffer) => {
    if (to === pair.upstream) forwardedBytes += chunk.length;
    // A connection already cut or reset carries nothing more, whatever still arrives.
    if (!pairs.has(pair)) return;
    if (paused === 'both' || (paused === 'replies' && to === pair.client)) pair.held.push({ to, chunk });
    else if (!to.destroyed) to.write(chunk);
  };
  const server: Server = createServer((client) => {
    if (blocked) {
      client.destroy();
      return;
    }
    const upstream = connect(port, host);
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
  const listening = typeof address === 'object' && address !== null ? address.port : 0;

  const each = (action: (pair: Pair) => void) => {
    for (const pair of [...pairs]) {
      pair.held.length = 0;
      pairs.delete(pair);
      action(pair);
    }
  };
  return {
    port: listening,
    url: `http://127.0.0.1:${listening}`,
    get connections() {
      return pairs.size;
    },
    get forwardedBytes() {
      return forwardedBytes;
    },
    get heldBytes() {
      let bytes = 0;
      for (const pair of pairs) for (const { chunk } of pair.held) bytes += chunk.length;
      return bytes;
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
    block(value) {
      if (value && !blocked) faults.block++;
      blocked = value;
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
