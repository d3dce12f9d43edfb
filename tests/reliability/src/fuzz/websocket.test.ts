import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { checkProperty, printFigures } from '../budget.ts';
import { guardProcess } from '../process-guard.ts';
import {
  controlString,
  garbageBody,
  hostileJson,
  hostileShortString,
  hostileString,
  numberToken,
  shapedObject,
} from './arbitraries.ts';
import { encodeSegment, errorBodySchema, headerOf, rawExchange, send } from './http.ts';
import { text } from './invariants.ts';
import { type TransportTarget, useTransportTarget } from './transport-target.ts';

// The run WebSocket: the upgrade's query string and every client frame. A refused upgrade is a
// typed JSON 4xx; an accepted one only ever opens the caller's own run; any frame gets an error
// frame or does what it says, and the socket, the run and the server survive it.
guardProcess();
const target = useTransportTarget('WebSocket');

const upgrade = (query: string) =>
  `GET /ws?${query} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
  'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';

describe('the upgrade’s query string', () => {
  it('opens the caller’s own run (101) or refuses with a typed JSON 4xx', async () => {
    const tokens = { ann: target().ann.token, annRun: target().annRunToken, bob: target().bob.token };
    const value = fc.oneof(
      fc.constantFrom(
        target().ann.finishedRunId,
        target().ann.waiting.runId,
        target().bob.finishedRunId,
        target().ann.sessionId,
        ...Object.values(tokens),
      ),
      hostileShortString,
      numberToken,
    );
    const pair = fc.tuple(
      fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom('run_id', 'token', 'last_seq', 'session_id') },
        { weight: 1, arbitrary: hostileShortString },
      ),
      value,
    );
    await checkProperty(
      'WebSocket upgrade query',
      fc.asyncProperty(fc.array(pair, { maxLength: 5 }), fc.boolean(), async (pairs, encoded) => {
        // Encoded, or raw where the bytes are printable ASCII (the request line cannot carry more).
        const query = pairs
          .map(([key, item]) =>
            encoded
              ? `${encodeSegment(key)}=${encodeSegment(item)}`
              : `${key.replace(/[^\x21-\x7e]/g, '')}=${item.replace(/[^\x21-\x7e]/g, '')}`,
          )
          .join('&');
        const answer = await rawExchange(target().port, upgrade(query), { halfClose: false });
        expect(answer.status, answer.head).toBeDefined();
        const status = answer.status as number;
        expect(status, answer.head).toBeLessThan(500);
        const params = new URLSearchParams(query);
        if (status === 101) {
          const token = params.get('token');
          const runId = params.get('run_id');
          const caller = Object.entries(tokens).find(([, candidate]) => candidate === token)?.[0];
          const own =
            caller === 'ann'
              ? [target().ann.finishedRunId, target().ann.waiting.runId]
              : caller === 'annRun'
                ? [target().ann.finishedRunId]
                : caller === 'bob'
                  ? [target().bob.finishedRunId, target().bob.waiting.runId]
                  : [];
          expect(own, `opened ${runId} with ${caller ?? 'no valid token'}`).toContain(runId);
          return;
        }
        expect(status).toBeGreaterThanOrEqual(400);
        if (answer.body === '' && headerOf(answer.head, 'content-type') === undefined) return; // Node's parser refused it.
        expect(headerOf(answer.head, 'content-type')).toMatch(/^application\/json/);
        expect(errorBodySchema.safeParse(JSON.parse(answer.body)).success, answer.body).toBe(true);
      }),
      800,
    );
  });
});

interface Opened {
  readonly ws: WebSocket;
  readonly frames: Record<string, unknown>[];
  readonly closed: Promise<number>;
}

async function openRun(runId: string, token: string): Promise<Opened> {
  const ws = new WebSocket(`${target().url.replace('http', 'ws')}/ws?run_id=${runId}&token=${token}`);
  const frames: Record<string, unknown>[] = [];
  ws.on('message', (data) => frames.push(JSON.parse(data.toString()) as Record<string, unknown>));
  ws.on('error', () => {});
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_request, response) =>
      reject(new Error(`upgrade refused: ${response.statusCode}`)),
    );
  });
  return { ws, frames, closed };
}

/** Resolves once every frame sent before it was handled: the server answers a ping after them. */
function roundTrip(ws: WebSocket): Promise<boolean> {
  return new Promise((resolve) => {
    if (ws.readyState !== ws.OPEN) return resolve(false);
    const done = (value: boolean) => {
      ws.off('pong', onPong);
      ws.off('close', onClose);
      resolve(value);
    };
    const onPong = () => done(true);
    const onClose = () => done(false);
    ws.on('pong', onPong);
    ws.on('close', onClose);
    ws.ping();
  });
}

describe('client frames', () => {
  it('answers any frame with an error frame (no seq) or does what it says, and the socket stays usable', async () => {
    let waiting = target().ann.waiting;
    const frame = fc.oneof(
      {
        weight: 4,
        arbitrary: shapedObject({
          type: fc.oneof(fc.constantFrom('approve', 'deny', 'stop'), hostileString).map(text),
          call_id: fc.oneof(fc.constant('CALL'), hostileString, controlString).map(text),
          reason: fc.oneof(hostileString, controlString).map(text),
        }).map((body) => ({ kind: 'text' as const, body })),
      },
      { weight: 1, arbitrary: hostileJson.map((body) => ({ kind: 'text' as const, body })) },
      { weight: 1, arbitrary: garbageBody(hostileJson).map((body) => ({ kind: 'binary' as const, body })) },
      {
        weight: 1,
        arbitrary: fc
          .string({ unit: 'binary', maxLength: 200 })
          .map((body) => ({ kind: 'text' as const, body })),
      },
      {
        weight: 1,
        arbitrary: fc
          .integer({ min: 64 * 1024 + 1, max: 200_000 })
          .map((size) => ({ kind: 'text' as const, body: `"${'x'.repeat(size)}"` })),
      },
    );
    await checkProperty(
      'WebSocket client frames',
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 3 }), async (frames) => {
        const run = await target().assistant.getRun(waiting.runId, { userId: 'ann' });
        if (run?.status !== 'awaiting_approval') waiting = await target().waitingRun();
        const socket = await openRun(waiting.runId, target().ann.token);
        const acts = frames.some(
          (item) => item.kind === 'text' && /"type"\s*:\s*"(approve|deny|stop)"/.test(item.body),
        );
        const tooBig = frames.some((item) => Buffer.byteLength(item.body) > 64 * 1024);
        for (const item of frames) {
          const body =
            item.kind === 'text' ? item.body.replaceAll('"CALL"', text(waiting.callId)) : item.body;
          socket.ws.send(body, { binary: item.kind === 'binary' });
        }
        const open = await roundTrip(socket.ws);
        if (!open) {
          const code = await socket.closed;
          // 1009: a frame past maxFrameBytes; 1000: the run ended after a valid decision or stop.
          expect([...(tooBig ? [1009] : []), ...(acts ? [1000] : [])], `closed with ${code}`).toContain(code);
        }
        for (const received of socket.frames.filter((item) => item.seq === undefined))
          expect(received).toMatchObject({
            type: 'error',
            run_id: waiting.runId,
            code: expect.any(String),
            message: expect.any(String),
            retryable: false,
          });
        socket.ws.terminate();
      }),
      1_000,
    );
    // The server still serves.
    const answer = await send(`${target().url}/api/v1/history?session_id=${target().ann.sessionId}`, {
      headers: { authorization: `Bearer ${target().ann.token}` },
    });
    expect(answer.status).toBe(200);
  });

  it('refuses a decision with control characters in call_id or reason with an error frame, deciding nothing', async () => {
    let waiting = await target().waitingRun();
    await checkProperty(
      'WebSocket frames with control characters',
      fc.asyncProperty(
        controlString,
        fc.constantFrom('call_id', 'reason'),
        fc.constantFrom('approve', 'deny'),
        async (value, field, type) => {
          const run = await target().assistant.getRun(waiting.runId, { userId: 'ann' });
          if (run?.status !== 'awaiting_approval') waiting = await target().waitingRun();
          const socket = await openRun(waiting.runId, target().ann.token);
          const sent = target().sent.length;
          socket.ws.send(JSON.stringify({ type, call_id: waiting.callId, [field]: value }));
          await roundTrip(socket.ws);
          socket.ws.terminate();
          // Finding 9: refused at the boundary, so nothing is decided (and nothing reaches storage).
          expect(
            socket.frames.filter((item) => item.seq === undefined && item.type === 'error'),
            `${field} ${JSON.stringify(value)}`,
          ).toHaveLength(1);
          expect((await target().assistant.getRun(waiting.runId, { userId: 'ann' }))?.status).toBe(
            'awaiting_approval',
          );
          expect(target().sent.length).toBe(sent);
        },
      ),
      100,
    );
  });
});
