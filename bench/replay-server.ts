// The replay bench's server: one process serving the Steward API and run WebSocket over
// PostgreSQL storage holding one finished run of REPLAY_EVENTS events of REPLAY_EVENT_BYTES each.
// Prints its URL and the run id as the first line of stdout; GET /rss?gc=1 answers its resident
// memory after a collection. The schema is dropped on SIGTERM.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Assistant, type StewardEvent } from '@steward/core';
import { createScriptedModel } from '@steward/core/testing';
import { createPostgresStorage } from '@steward/storage-postgres';
import { attachWebSocket, createJwtAuth, createStewardApi, toNodeHandler } from '@steward/transport-ws';
import pg from 'pg';

const url = process.env.STEWARD_BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const schema = `steward_bench_replay_${process.pid}`;
const events = Number(process.env.REPLAY_EVENTS ?? 10_000);
const eventBytes = Number(process.env.REPLAY_EVENT_BYTES ?? 4_000);

const storage = createPostgresStorage({ connectionString: url, schema });
const runId = crypto.randomUUID();
const now = new Date().toISOString();
await storage.ensureSession('replay-session', { userId: 'reader' });
await storage.createRun({
  id: runId,
  sessionId: 'replay-session',
  userId: 'reader',
  status: 'running',
  createdAt: now,
  updatedAt: now,
});
const text = 'x'.repeat(eventBytes);
for (let from = 1; from <= events; from += 500) {
  const batch: StewardEvent[] = [];
  for (let seq = from; seq < Math.min(from + 500, events + 1); seq++) {
    batch.push(
      seq === events
        ? {
            type: 'final',
            text: '',
            usage: { input_tokens: 0, output_tokens: 0, total_tokens: 0 },
            stop_reason: 'stop',
            partial: false,
            run_id: runId,
            seq,
            timestamp: now,
          }
        : { type: 'token', text, run_id: runId, seq, timestamp: now },
    );
  }
  await storage.appendEvents(runId, batch);
}
await storage.updateRun(runId, { status: 'completed', stopReason: 'stop', partial: false });

const assistant = new Assistant({ model: createScriptedModel([]), storage });
const api = createStewardApi({
  assistant,
  auth: createJwtAuth({ secret: process.env.BENCH_SECRET as string }),
});
const handler = toNodeHandler(api);
const server = createServer((request, response) => {
  if (request.url?.startsWith('/rss') === true) {
    globalThis.gc?.();
    response.end(String(process.memoryUsage().rss));
    return;
  }
  handler(request, response);
});
attachWebSocket(server, api);
server.listen({ port: 0, host: '127.0.0.1' }, () => {
  process.stdout.write(`http://127.0.0.1:${(server.address() as AddressInfo).port} ${runId}\n`);
});
process.on('SIGTERM', async () => {
  await storage.close();
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  await admin.end();
  process.exit(0);
});
