import { connect, createServer, type Server, type Socket } from 'node:net';
import { SignJWT } from 'jose';

/**
 * A user JWT signed HS256 with `secret`, as a login provider would issue one: `sub` is the user,
 * extra claims (e.g. `roles`) go in `claims`. For tests against `createJwtAuth({ secret })`.
 */
export function signTestToken(options: {
  secret: string;
  userId: string;
  claims?: Record<string, unknown>;
  /** A jose time span such as `'5m'`, or `'-1m'` for an expired token. Default `'5m'`. */
  expiresIn?: string;
}): Promise<string> {
  return new SignJWT(options.claims ?? {})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(options.userId)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '5m')
    .sign(new TextEncoder().encode(options.secret));
}

/** A TCP proxy a test controls, from {@link startTcpProxy}. */
export interface TcpProxy {
  /** `http://127.0.0.1:<port>` of the proxy. */
  readonly url: string;
  readonly port: number;
  /** Drops every open connection at once, as a network failure would. */
  cut(): void;
  /** While blocked, new connections are dropped at once: the server looks unreachable. */
  block(blocked: boolean): void;
  close(): Promise<void>;
}

/**
 * A TCP proxy in front of `127.0.0.1:targetPort` whose connections a test can cut or refuse, to
 * drop WebSockets and SSE streams mid-run and watch clients resume.
 */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>();
  let blocked = false;
  const destroyAll = () => {
    for (const [client, upstream] of pairs) {
      client.destroy();
      upstream.destroy();
    }
    pairs.clear();
  };
  const server: Server = createServer((client) => {
    if (blocked) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.pipe(upstream).pipe(client);
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
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    cut: destroyAll,
    block(value) {
      blocked = value;
    },
    close: () =>
      new Promise((resolve) => {
        destroyAll();
        server.close(() => resolve());
      }),
  };
}
