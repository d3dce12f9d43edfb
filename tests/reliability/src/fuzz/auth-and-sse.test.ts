import { request as httpRequest } from 'node:http';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkProperty, printFigures } from '../budget.ts';
import { guardProcess } from '../process-guard.ts';
import { hostileShortString, numberToken } from './arbitraries.ts';
import { type Answer, encodeSegment, expectTypedAnswer, send } from './http.ts';
import { secret, type TransportTarget, useTransportTarget } from './transport-target.ts';

// Tokens and the SSE stream: a random or tampered token never gets past 401, and whatever
// Last-Event-ID or last_seq says, a stream is the caller's own run's events, each once, in order.
guardProcess();
const target = useTransportTarget('auth and SSE');

const base64url = (text: string) => Buffer.from(text).toString('base64url');
const segments = (token: string) => token.split('.');
/** Header-safe text: printable ASCII, no spaces (a header cannot carry more, and a space ends a token). */
const headerSafe = fc.string({
  unit: fc.integer({ min: 0x21, max: 0x7e }).map((code) => String.fromCharCode(code)),
  maxLength: 300,
});

/** Ways to get a token wrong, each from ann's valid token. */
function tamperedTokens(valid: string) {
  const [header = '', payload = '', signature = ''] = segments(valid);
  const flip = (segment: string, at: number, to: string) => {
    const index = at % Math.max(1, segment.length);
    return segment.slice(0, index) + to + segment.slice(index + 1);
  };
  const base64Char = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_');
  return fc.oneof(
    headerSafe,
    fc.tuple(headerSafe, headerSafe, headerSafe).map((parts) => parts.join('.')),
    fc.tuple(fc.nat(), base64Char).map(([at, to]) => [header, flip(payload, at, to), signature].join('.')),
    fc.tuple(fc.nat(), base64Char).map(([at, to]) => [header, payload, flip(signature, at, to)].join('.')),
    fc.tuple(fc.nat(), base64Char).map(([at, to]) => [flip(header, at, to), payload, signature].join('.')),
    // Another user, another role, unsigned or with the signature of other claims.
    fc
      .constantFrom('bob', 'root', '')
      .map((sub) => [header, base64url(JSON.stringify({ sub, roles: ['admin'] })), signature].join('.')),
    fc
      .constantFrom('none', 'None', 'HS512', 'RS256', 'ES256', '')
      .map((alg) =>
        [base64url(JSON.stringify({ alg, typ: 'JWT' })), payload, alg === 'none' ? '' : signature].join('.'),
      ),
    fc.constant([header, payload].join('.')),
    fc.constant(`${valid}.`),
    fc.constant(`${valid}x`),
    // Well signed, but with the wrong secret, expired, not yet valid, or a run token with no run.
    fc.constantFrom('wrong', 'expired', 'future', 'run-without-run').chain((kind) => fc.constant(kind)),
  );
}

async function signed(kind: string): Promise<string> {
  const key = new TextEncoder().encode(kind === 'wrong' ? `${secret}-but-not-quite` : secret);
  const jwt = new SignJWT(kind === 'run-without-run' ? {} : { roles: ['admin'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('ann');
  if (kind === 'expired') jwt.setExpirationTime(Math.floor(Date.now() / 1000) - 3600);
  else if (kind === 'future') jwt.setNotBefore(Math.floor(Date.now() / 1000) + 3600).setExpirationTime('2h');
  else jwt.setExpirationTime('1h');
  if (kind === 'run-without-run') jwt.setAudience('steward:run').setIssuer('steward');
  return jwt.sign(key);
}

/** Whether a tampered token still decodes to the valid token's bytes (base64url has spare bits). */
function sameBytes(token: string, valid: string): boolean {
  const decode = (value: string) =>
    value
      .split('.')
      .map((part) => Buffer.from(part, 'base64url').toString('hex'))
      .join('.');
  return token.split('.').length === 3 && decode(token) === decode(valid);
}

const routes = (t: TransportTarget) => [
  { method: 'POST', path: '/api/v1/respond', body: '{"input":"hello"}' },
  { method: 'GET', path: `/api/v1/history?session_id=${t.ann.sessionId}` },
  {
    method: 'POST',
    path: '/api/v1/tools/register',
    body: '{"name":"x","transport":"sse","url":"http://127.0.0.1:1/"}',
  },
  { method: 'GET', path: `/api/v1/runs/${t.ann.finishedRunId}` },
  { method: 'GET', path: `/api/v1/runs/${t.ann.finishedRunId}/events` },
  {
    method: 'POST',
    path: `/api/v1/runs/${t.ann.waiting.runId}/approvals`,
    body: `{"call_id":"${t.ann.waiting.callId}","decision":"deny"}`,
  },
  { method: 'POST', path: `/api/v1/runs/${t.ann.waiting.runId}/stop`, body: '{}' },
];

describe('bearer tokens', () => {
  it('answers a random or tampered token with a typed 401 on every route', async () => {
    const all = routes(target());
    await checkProperty(
      'random and tampered tokens',
      fc.asyncProperty(
        tamperedTokens(target().ann.token),
        fc.integer({ min: 0, max: all.length - 1 }),
        fc.constantFrom('Bearer ', 'bearer ', 'Bearer  '),
        async (made, index, scheme) => {
          const token = ['wrong', 'expired', 'future', 'run-without-run'].includes(made)
            ? await signed(made)
            : made;
          fc.pre(!sameBytes(token, target().ann.token));
          const route = all[index] as (typeof all)[number];
          const answer = await send(`${target().url}${route.path}`, {
            method: route.method,
            headers: { authorization: `${scheme}${token}`, 'content-type': 'application/json' },
            ...(route.body === undefined ? {} : { body: route.body }),
          });
          expectTypedAnswer(answer, `${route.method} ${route.path}`);
          expect(answer.status, `${route.method} ${route.path} with ${token.slice(0, 120)}`).toBe(401);
        },
      ),
      1_000,
    );
  });
});

/** Status and headers of a stream, which is then dropped (a live run's stream does not end). */
function peek(url: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { headers, agent: false }, (response) => {
      const answerHeaders = new Headers();
      for (const [name, value] of Object.entries(response.headers))
        if (typeof value === 'string') answerHeaders.set(name, value);
      if (response.statusCode === 200) {
        resolve({ status: 200, headers: answerHeaders, text: '' });
        request.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: answerHeaders,
          text: Buffer.concat(chunks).toString(),
        }),
      );
    });
    request.on('error', reject);
    request.end();
  });
}

describe('GET /api/v1/runs/:id/events', () => {
  it('streams the caller’s own run after Last-Event-ID (or last_seq), each event once, or answers a typed 4xx', async () => {
    const logs = new Map([
      [
        target().ann.finishedRunId,
        await target().assistant.getRunEvents(target().ann.finishedRunId, { userId: 'ann' }),
      ],
      [
        target().bob.finishedRunId,
        await target().assistant.getRunEvents(target().bob.finishedRunId, { userId: 'bob' }),
      ],
    ]);
    const longest = Math.max(...[...logs.values()].map((log) => log.length));
    const position = fc.oneof(
      fc.nat({ max: longest + 2 }).map(String),
      numberToken,
      hostileShortString.filter((value) => /^[\x20-\x7e]*$/.test(value)),
    );
    const runId = fc.oneof(
      fc.constantFrom(
        target().ann.finishedRunId,
        target().ann.waiting.runId,
        target().bob.finishedRunId,
        target().bob.waiting.runId,
      ),
      hostileShortString,
    );
    await checkProperty(
      'SSE Last-Event-ID and last_seq',
      fc.asyncProperty(
        runId,
        fc.constantFrom('ann', 'annRun', 'bob'),
        fc.option(position),
        fc.option(position),
        async (id, caller, header, query) => {
          const token = { ann: target().ann.token, annRun: target().annRunToken, bob: target().bob.token }[
            caller
          ];
          const url = `${target().url}/api/v1/runs/${encodeSegment(id)}/events${query === null ? '' : `?last_seq=${encodeSegment(query)}`}`;
          const headers = {
            authorization: `Bearer ${token}`,
            ...(header === null ? {} : { 'last-event-id': header }),
          };
          const live = id === target().ann.waiting.runId || id === target().bob.waiting.runId;
          const answer = live ? await peek(url, headers) : await send(url, { headers });
          expectTypedAnswer(answer, 'events');
          if (answer.status >= 300) return;
          const owner =
            id === target().ann.finishedRunId || id === target().ann.waiting.runId
              ? 'ann'
              : id === target().bob.finishedRunId || id === target().bob.waiting.runId
                ? 'bob'
                : undefined;
          const allowed = caller === 'annRun' ? id === target().ann.finishedRunId : owner === caller;
          expect(allowed, `${caller} read ${id}`).toBe(true);
          if (live) return;
          const after = Number(header ?? query ?? '0');
          const expected = (logs.get(id) ?? []).filter((event) => event.seq > after);
          if (answer.status === 204) {
            expect(expected).toEqual([]);
            return;
          }
          expect(answer.headers.get('content-type')).toMatch(/^text\/event-stream/);
          const events = [...answer.text.matchAll(/^data: (.*)$/gm)].map((match) =>
            JSON.parse(match[1] as string),
          );
          const ids = [...answer.text.matchAll(/^id: (\d+)$/gm)].map((match) => Number(match[1]));
          expect(events).toEqual(expected);
          expect(ids).toEqual(expected.map((event) => event.seq));
        },
      ),
      900,
    );
  });
});
