// Replay memory of `npm run bench`: idle readers of one long finished run (40 MB of events in
// PostgreSQL by default), each a WebSocket that never reads. What each costs the server, against
// the size of the run: a replay that held the whole log per reader would cost more than the run.
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { SignJWT } from 'jose';
import { WebSocket } from 'ws';

const secret = 'bench-secret-that-is-at-least-32-bytes!';
const mb = (bytes: number) => Number((bytes / 1024 / 1024).toFixed(1));

async function rss(url: string): Promise<number> {
  return Number(await (await fetch(`${url}/rss?gc=1`)).text());
}

/** RSS once it stops moving (the readers' sockets have filled and the server stopped pulling). */
async function settledRss(url: string): Promise<number> {
  let last = await rss(url);
  for (let round = 0; round < 40; round++) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const now = await rss(url);
    if (Math.abs(now - last) < 1024 * 1024) return now;
    last = now;
  }
  return last;
}

/** A WebSocket upgrade whose socket is never read: the server's sends back up, as a stalled tab's would. */
function idleReader(url: string, runId: string, token: string): Promise<Socket> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => {
      socket.write(
        `GET /ws?run_id=${runId}&last_seq=0 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${btoa('0123456789abcdef')}\r\n` +
          `Sec-WebSocket-Version: 13\r\nAuthorization: Bearer ${token}\r\n\r\n`,
      );
      socket.once('data', (head) => {
        if (!head.toString().startsWith('HTTP/1.1 101')) reject(new Error(head.toString().split('\r\n')[0]));
        socket.pause();
        resolve(socket);
      });
    });
    socket.once('error', reject);
  });
}

/** `readers` idle readers of one finished run; server RSS growth per reader and against the run's size. */
export async function replayMemory(readers: number) {
  const events = Number(process.env.REPLAY_EVENTS ?? 10_000);
  const eventBytes = Number(process.env.REPLAY_EVENT_BYTES ?? 4_000);
  const child = spawn(
    process.execPath,
    ['--expose-gc', new URL('./replay-server.ts', import.meta.url).pathname],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        ...process.env,
        BENCH_SECRET: secret,
        REPLAY_EVENTS: String(events),
        REPLAY_EVENT_BYTES: String(eventBytes),
      },
    },
  );
  try {
    const line = await new Promise<string>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`replay server exited with ${code}`)));
      createInterface({ input: child.stdout }).once('line', resolve);
    });
    const [url, runId] = line.split(' ') as [string, string];
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('reader')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(secret));
    // One reader that reads everything first: the replay is complete and in order.
    const received = await new Promise<number>((resolve, reject) => {
      let count = 0;
      let expected = 1;
      const ws = new WebSocket(`${url.replace('http', 'ws')}/ws?run_id=${runId}&last_seq=0`, {
        headers: { authorization: `Bearer ${token}` },
      });
      ws.on('message', (data) => {
        const event = JSON.parse(String(data)) as { seq: number };
        if (event.seq !== expected++) reject(new Error(`replay out of order at ${event.seq}`));
        count++;
      });
      ws.on('close', () => resolve(count));
      ws.on('error', reject);
    });
    const before = await settledRss(url);
    const sockets = await Promise.all(Array.from({ length: readers }, () => idleReader(url, runId, token)));
    const after = await settledRss(url);
    for (const socket of sockets) socket.destroy();
    const runBytes = events * eventBytes;
    const perReader = (after - before) / readers;
    return {
      run_mb: mb(runBytes),
      events,
      replayed_in_order: received === events,
      idle_readers: readers,
      rss_before_mb: mb(before),
      rss_after_mb: mb(after),
      per_reader_mb: mb(perReader),
      per_reader_vs_run: Number((perReader / runBytes).toFixed(3)),
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

if (import.meta.url === `file://${process.argv[1]}`)
  console.table([await replayMemory(Number(process.env.REPLAY_READERS ?? 12))]);
