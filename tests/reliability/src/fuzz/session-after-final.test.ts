import { request as httpRequest } from 'node:http';
import { signTestToken } from '@steward/transport-ws/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkProperty, printFigures } from '../budget.ts';
import { guardProcess } from '../process-guard.ts';
import { bearer, post } from './requests.ts';
import { secret, type TransportTarget, useTransportTarget } from './transport-target.ts';

// Finding 12: `final` must mean the session is free. A client that read `final` and at once
// starts the session's next run is admitted, over HTTP and in process.
guardProcess();
const target = useTransportTarget('session after final');

describe('a session after final (finding 12)', () => {
  it('admits the session’s next run as soon as a reader has read final', async () => {
    let user = 0;
    await checkProperty(
      'next run after final',
      fc.asyncProperty(fc.constantFrom('hello', 'hi there', 'what now'), async (input) => {
        // A fresh user each time, so no rate limit or concurrency cap is what answers.
        const token = await signTestToken({ secret, userId: `next-${++user}`, expiresIn: '10m' });
        const first = await post(target().url, '/api/v1/respond', token, {
          body: JSON.stringify({ input }),
          type: 'application/json',
          framing: { chunked: false },
        });
        expect(first.status).toBe(202);
        const { run_id: runId, session_id: sessionId } = JSON.parse(first.text) as {
          run_id: string;
          session_id: string;
        };
        // Act the moment `final` arrives, as a client does, not when the stream closes after it.
        await untilFinal(`${target().url}/api/v1/runs/${runId}/events`, token);
        const next = await post(target().url, '/api/v1/respond', token, {
          body: JSON.stringify({ input, session_id: sessionId }),
          type: 'application/json',
          framing: { chunked: false },
        });
        expect(next.status, `the next run after final got ${next.text}`).toBe(202);
      }),
      25,
    );
  });
});

describe('a session after final, in process (finding 12)', () => {
  it('admits the session’s next run as soon as the iterator yielded final', async () => {
    let user = 0;
    await checkProperty(
      'next run after final, in process',
      fc.asyncProperty(fc.constantFrom('hello', 'hi there'), async (input) => {
        const userId = `inproc-${++user}`;
        const run = target().assistant.run({ input, userId });
        for await (const event of run) if (event.type === 'final') break;
        const next = target().assistant.run({ input, userId, sessionId: run.sessionId });
        const events = [];
        for await (const event of next) events.push(event);
        const refused = events.find((event) => event.type === 'error');
        expect(refused?.type === 'error' ? refused.code : 'admitted').toBe('admitted');
      }),
      25,
    );
  });
});

/** Resolves as soon as the SSE stream at `url` has delivered a `final` frame. */
function untilFinal(url: string, token: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { headers: bearer(token), agent: false }, (response) => {
      let seen = '';
      response.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        if (/"type":"final"/.test(seen)) {
          resolve();
          request.destroy();
        }
      });
      response.on('end', () => reject(new Error(`the stream ended without final: ${seen.slice(-300)}`)));
    });
    request.on('error', () => {});
    request.end();
  });
}
