import { type ExpressHost, startExpressHost } from '@steward/example-express-host/src/host.ts';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { checkProperty, printFigures } from '../budget.ts';
import { guardProcess } from '../process-guard.ts';
import {
  contentType,
  controlString,
  framing,
  garbageBody,
  hostileShortString,
  hostileString,
} from './arbitraries.ts';
import { type Answer, encodeSegment, send } from './http.ts';
import { expectUnpolluted } from './invariants.ts';

// The Express host's forms (login, logout, send, approvals, run tokens), signed in or not, with or
// without their CSRF token, as a browser form, as the page's script, or as garbage. A refusal is a
// 4xx page (or the JSON error the page's script reads), never a 500.
guardProcess();
const sessionSecret = 'reliability-session-secret-of-32-characters';
let host: ExpressHost;
beforeAll(async () => {
  // The development sign-in (behind its flag) signs users in without the identity provider's pages.
  host = await startExpressHost({ chunkDelayMs: 0, sessionSecret, formWaitMs: 1_000, devSignIn: true });
});
afterAll(async () => {
  await host?.stop();
  printFigures('Express host forms');
});

/** Cookies and the CSRF token of a visitor, signed in as `user` or not. */
interface Visitor {
  readonly cookie: string;
  readonly csrf: string;
}

function cookiesOf(answer: Answer, previous = ''): string {
  const jar = new Map(
    previous
      .split('; ')
      .filter(Boolean)
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair] as const),
  );
  for (const line of answer.headers.getSetCookie()) {
    const pair = line.split(';')[0]?.trim() ?? '';
    jar.set(pair.slice(0, pair.indexOf('=')), pair);
  }
  return [...jar.values()].join('; ');
}

const csrfOf = (page: string) => /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';

async function visit(user?: string): Promise<Visitor> {
  const login = await send(`${host.url}/login`);
  let cookie = cookiesOf(login);
  let csrf = csrfOf(login.text);
  if (user === undefined) return { cookie, csrf };
  const signedIn = await send(`${host.url}/login`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrf, username: user }).toString(),
  });
  expect(signedIn.status).toBe(303);
  cookie = cookiesOf(signedIn, cookie);
  const chat = await send(`${host.url}/chat`, { headers: { cookie } });
  csrf = csrfOf(chat.text);
  return { cookie: cookiesOf(chat, cookie), csrf };
}

const jsonRefusal = z
  .object({
    error: z
      .object({ code: z.string().min(1), message: z.string().min(1), field: z.string().min(1).optional() })
      .strict(),
  })
  .strict();

/** A refusal is a proper 4xx: the JSON error for the page's script, or an HTML page. */
function expectProperAnswer(answer: Answer, where: string): void {
  expect(answer.status, `${where} answered ${answer.status}`).toBeLessThan(500);
  if (answer.status < 400) return;
  const type = answer.headers.get('content-type') ?? '';
  if (/^application\/json/.test(type))
    expect(
      jsonRefusal.safeParse(JSON.parse(answer.text)).success,
      `${where}: ${answer.text.slice(0, 200)}`,
    ).toBe(true);
  else {
    expect(type, where).toMatch(/^text\/html/);
    expect(answer.text, where).toMatch(/^<!doctype html>/);
  }
}

const field = fc.oneof(
  hostileString,
  controlString,
  fc.constantFrom('ann', 'approve', 'deny', 'Hello there'),
);
const formFields = fc.array(
  fc.tuple(
    fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom('username', 'message', 'call_id', 'decision', '_csrf') },
      { weight: 1, arbitrary: hostileShortString },
    ),
    field,
  ),
  { maxLength: 25 },
);

describe('the form routes', () => {
  it('answer every body with a redirect, a 2xx or a proper 4xx, never a 500', async () => {
    await checkProperty(
      'Express host forms',
      fc.asyncProperty(
        fc.constantFrom('/login', '/logout', '/chat/send', '/chat/approvals', '/chat/runs/RUN/token'),
        fc.constantFrom('signed-in', 'visitor', 'forged'),
        fc.constantFrom('field', 'header', 'none', 'wrong'),
        fc.constantFrom('text/html', 'application/json', '*/*', undefined),
        fc.oneof(
          { weight: 3, arbitrary: formFields.map((pairs) => ({ form: pairs })) },
          {
            weight: 2,
            arbitrary: fc.record({
              raw: garbageBody(formFields.map((pairs) => JSON.stringify(Object.fromEntries(pairs)))),
              type: contentType,
            }),
          },
        ),
        framing,
        fc.oneof(fc.constant('RUN'), hostileShortString),
        async (path, who, csrfBy, accept, body, how, runId) => {
          const visitor = await visit(who === 'visitor' ? undefined : 'ann');
          const cookie =
            who === 'forged'
              ? visitor.cookie.replace(
                  /steward_session=[^;]*/,
                  'steward_session=s%3Aj%3A%7B%22user%22%3A%22bob%22%7D.forged',
                )
              : visitor.cookie;
          const csrf = csrfBy === 'wrong' ? 'not-the-token' : visitor.csrf;
          let payload: string | Uint8Array;
          let type: string | undefined;
          if ('form' in body) {
            const form = new URLSearchParams(
              body.form.map(([key, value]) => [key.toWellFormed(), value.toWellFormed()]),
            );
            if (csrfBy === 'field' || csrfBy === 'wrong') form.append('_csrf', csrf);
            payload = form.toString();
            type = 'application/x-www-form-urlencoded';
          } else {
            payload = body.raw;
            type = body.type;
          }
          const answer = await send(`${host.url}${path.replace('RUN', encodeSegment(runId))}`, {
            method: 'POST',
            headers: {
              cookie,
              ...(type === undefined ? {} : { 'content-type': type }),
              ...(accept === undefined ? {} : { accept }),
              ...(csrfBy === 'header' ? { 'x-csrf-token': csrf } : {}),
            },
            body: payload,
            ...(how.chunked ? { pieces: how.pieces } : {}),
          });
          // Finding 8: a JSON, text or empty body on a form route must be a 4xx, not a 500.
          expectProperAnswer(answer, `${who} ${path} (${type ?? 'no type'}, csrf by ${csrfBy})`);
          expectUnpolluted();
        },
      ),
      700,
    );
  });
});
