import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkProperty, printFigures } from '../budget.ts';
import { guardProcess } from '../process-guard.ts';
import { errorBodySchema, headerOf, rawExchange, send } from './http.ts';
import { type TransportTarget, useTransportTarget } from './transport-target.ts';

// Bytes that are barely HTTP: mutated requests, conflicting framing headers (the request
// smuggling shapes), random bytes. The server answers below 500 or closes, and keeps serving.
guardProcess();
const target = useTransportTarget('raw HTTP');

function valid(token: string, body = '{"input":"hello"}'): string {
  return (
    `POST /api/v1/respond HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

describe('raw bytes on the HTTP port', () => {
  it('never gets a 5xx, and every JSON 4xx is typed', async () => {
    const request = valid(target().ann.token);
    const mutation = fc.oneof(
      fc.uint8Array({ maxLength: 600 }).map((bytes) => Buffer.from(bytes)),
      // Flip, insert or cut bytes of a valid request.
      fc
        .array(
          fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('flip', 'insert', 'delete')),
          { minLength: 1, maxLength: 6 },
        )
        .map((edits) => {
          const bytes = [...Buffer.from(request)];
          for (const [at, byte, kind] of edits) {
            const index = at % bytes.length;
            if (kind === 'flip') bytes[index] = byte;
            else if (kind === 'insert') bytes.splice(index, 0, byte);
            else bytes.splice(index, 1);
          }
          return Buffer.from(bytes);
        }),
      fc.nat().map((cut) => Buffer.from(request.slice(0, cut % request.length))),
      // Framing that disagrees with itself.
      fc
        .constantFrom(
          request.replace('Content-Length: 17', 'Content-Length: 17\r\nContent-Length: 5'),
          request.replace('Content-Length: 17', 'Content-Length: 17\r\nTransfer-Encoding: chunked'),
          request.replace('Content-Length: 17', 'Transfer-Encoding: chunked'),
          request.replace('Content-Length: 17', 'Transfer-Encoding: xchunked'),
          request.replace('Content-Length: 17', 'Content-Length: -1'),
          request.replace('Content-Length: 17', 'Content-Length: 99999999999999999999'),
          request.replace('HTTP/1.1', 'HTTP/0.9'),
          request.replace('HTTP/1.1', 'HTTP/2.0'),
          request.replace('POST', 'P O S T'),
          request.replace('\r\n', '\n'),
          `${request}${request}`,
        )
        .map((text) => Buffer.from(text)),
    );
    let served = 0;
    await checkProperty(
      'raw HTTP bytes',
      fc.asyncProperty(mutation, async (bytes) => {
        const answer = await rawExchange(target().port, bytes);
        if (answer.status === undefined) return; // Closed without an answer: allowed for non-HTTP.
        expect(answer.status, answer.head).toBeLessThan(500);
        if (answer.status >= 400 && /^application\/json/.test(headerOf(answer.head, 'content-type') ?? '')) {
          const body = firstBody(answer.head, answer.body);
          expect(errorBodySchema.safeParse(JSON.parse(body)).success, answer.body).toBe(true);
        }
        if (++served % 50 === 0) {
          const health = await send(`${target().url}/api/v1/history?session_id=${target().ann.sessionId}`, {
            headers: { authorization: `Bearer ${target().ann.token}` },
          });
          expect(health.status).toBe(200);
        }
      }),
      600,
    );
  });
});

/** The body of the first response in what the server wrote (pipelined bytes may have got a second). */
function firstBody(head: string, rest: string): string {
  const length = headerOf(head, 'content-length');
  if (length !== undefined) return Buffer.from(rest).subarray(0, Number(length)).toString();
  if (/chunked/i.test(headerOf(head, 'transfer-encoding') ?? '')) {
    let body = '';
    let remaining = rest;
    while (true) {
      const line = remaining.indexOf('\r\n');
      const size = Number.parseInt(remaining.slice(0, line), 16);
      if (!(size > 0)) return body;
      body += remaining.slice(line + 2, line + 2 + size);
      remaining = remaining.slice(line + 2 + size + 2);
    }
  }
  return rest;
}
