import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExpressHost, startExpressHost } from '../host.ts';
import { TestBrowser } from './test-browser.ts';

// Every route of the host with bodies and query strings it does not expect: a clear 4xx (400 for
// a missing or invalid field, 415 for a body type it does not take, 403 for CSRF), never a 500.
let host: ExpressHost;
beforeAll(async () => {
  host = await startExpressHost({ devSignIn: true, oidc: false, chunkDelayMs: 0, formWaitMs: 5_000 });
});
afterAll(() => host?.stop());

/** A signed-in browser and its CSRF token (sent as the header, so CSRF is not what refuses). */
async function signedIn(username: string) {
  const browser = new TestBrowser(host.url);
  await browser.login(username);
  return { browser, csrf: await browser.csrf() };
}

const formRoutes = ['/login', '/logout', '/chat/send', '/chat/approvals'] as const;

const bodies: Record<string, { body?: BodyInit; type?: string }> = {
  json: {
    body: '{"message":"hi","username":"x","call_id":"c","decision":"approve"}',
    type: 'application/json',
  },
  text: { body: 'message=hi', type: 'text/plain' },
  multipart: {
    body: (() => {
      const form = new FormData();
      form.set('message', 'hi');
      return form;
    })(),
  },
  xml: { body: '<message>hi</message>', type: 'application/xml' },
  'bytes with no type': { body: new Uint8Array([1, 2, 3]) },
};

describe('form routes with a body they do not take', () => {
  it.each(formRoutes.flatMap((path) => Object.keys(bodies).map((kind) => [path, kind] as const)))(
    '%s answers a %s body with 415, as a page or as typed JSON',
    async (path, kind) => {
      const { browser, csrf } = await signedIn(`form-${kind.replaceAll(' ', '-')}`);
      const { body, type } = bodies[kind] ?? {};
      for (const accept of ['text/html', 'application/json']) {
        const response = await browser.request(path, {
          method: 'POST',
          ...(body === undefined ? {} : { body }),
          headers: { accept, 'x-csrf-token': csrf, ...(type === undefined ? {} : { 'content-type': type }) },
        });
        expect(response.status).toBe(415);
        if (accept === 'application/json')
          expect(await response.json()).toMatchObject({ error: { code: 'unsupported_media_type' } });
        else expect(await response.text()).toContain('application/x-www-form-urlencoded');
      }
      // Nothing happened: still signed in, no run started.
      expect((await browser.request('/chat')).status).toBe(200);
    },
  );
});

describe('form routes with no body or missing fields', () => {
  it('answers 400 naming the missing field, for an empty body and for an empty form', async () => {
    const { browser, csrf } = await signedIn('form-empty');
    const requestsBefore = host.model.requests.length;
    const expected = [
      ['/chat/send', 'message'],
      ['/chat/approvals', 'call_id'],
    ] as const;
    for (const [path, field] of expected) {
      for (const init of [
        {},
        { body: '' },
        { body: '', headers: { 'content-type': 'application/json' } },
        { body: new URLSearchParams({ unrelated: 'x' }) },
      ]) {
        const response = await browser.request(path, {
          method: 'POST',
          ...init,
          headers: { accept: 'application/json', 'x-csrf-token': csrf, ...init.headers },
        });
        expect(response.status).toBe(400);
        expect(await response.json()).toMatchObject({ error: { code: 'invalid_request', field } });
      }
    }
    expect(host.model.requests.length).toBe(requestsBefore);
  });

  it('answers the login form without a username with 400 and the login page', async () => {
    const browser = new TestBrowser(host.url);
    const csrf = await browser.csrf('/login');
    for (const init of [{}, { body: new URLSearchParams({ _csrf: csrf }) }]) {
      const response = await browser.request('/login', {
        method: 'POST',
        ...init,
        headers: { 'x-csrf-token': csrf },
      });
      expect(response.status).toBe(400);
      expect(await response.text()).toContain('Enter a username');
    }
    expect(browser.cookies.has('steward_session')).toBe(false);
  });

  it('answers invalid field values with 400 and the field', async () => {
    const { browser, csrf } = await signedIn('form-invalid');
    const cases: [string, Record<string, string | string[]>, string][] = [
      ['/chat/send', { message: 'a\u0000b' }, 'message'],
      ['/chat/send', { message: ['one', 'two'] }, 'message'],
      ['/chat/send', { message: 'x'.repeat(4_001) }, 'message'],
      ['/chat/approvals', { call_id: 'c1', decision: 'maybe' }, 'decision'],
      ['/chat/approvals', { call_id: 'c\u0000', decision: 'approve' }, 'call_id'],
      ['/chat/approvals', { call_id: ['a', 'b'], decision: 'approve' }, 'call_id'],
    ];
    for (const [path, fields, field] of cases) {
      const form = new URLSearchParams();
      for (const [name, value] of Object.entries(fields))
        for (const item of [value].flat()) form.append(name, item);
      const response = await browser.request(path, {
        method: 'POST',
        body: form,
        headers: { accept: 'application/json', 'x-csrf-token': csrf },
      });
      expect(response.status, `${path} ${JSON.stringify(fields)}`).toBe(400);
      expect(await response.json()).toMatchObject({ error: { code: 'invalid_request', field } });
    }
  });

  it('answers 403 to a form without its CSRF token, whatever else is wrong with it', async () => {
    const { browser } = await signedIn('form-csrf');
    for (const path of formRoutes) {
      const response = await browser.request(path, {
        method: 'POST',
        body: new URLSearchParams({ message: 'hi' }),
        headers: { accept: 'application/json' },
      });
      expect(response.status).toBe(403);
      expect(await response.json()).toMatchObject({ error: { code: 'invalid_csrf_token' } });
    }
  });
});

describe('every route with odd input', () => {
  const queries = [
    '?x=%E0%A4%A',
    '?a[b][c]=1&__proto__[polluted]=1&constructor[prototype][x]=1',
    `?${'a=1&'.repeat(3_000)}`,
    '?%00=%00',
    `?x=${'%'.repeat(200)}`,
  ];
  const paths = [
    '/',
    '/login',
    '/logout',
    '/chat',
    '/chat/send',
    '/chat/approvals',
    '/chat/runs/x/token',
    '/chat/runs/%E0%A4%A/token',
    '/chat/runs/%00/token',
    `/chat/runs/${'r'.repeat(5_000)}/token`,
    '/static/chat.js',
    '/static/%2e%2e/package.json',
    '/static/%00',
    '/%E0%A4%A',
    '/nowhere',
  ];

  it('never answers 5xx, signed in or not, for any method, path and query string', async () => {
    const { browser: member, csrf: firstCsrf } = await signedIn('odd-input');
    let csrf = firstCsrf;
    const anonymous = new TestBrowser(host.url);
    const seen: string[] = [];
    for (const browser of [member, anonymous])
      for (const path of paths)
        for (const query of ['', ...queries])
          for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS']) {
            const response = await browser.request(`${path}${query}`, {
              method,
              headers: method === 'POST' ? { 'x-csrf-token': csrf } : {},
            });
            await response.arrayBuffer();
            if (response.status >= 500)
              seen.push(`${method} ${path.slice(0, 40)}${query.slice(0, 40)}: ${response.status}`);
            // Sign-out is one of the routes: sign in again so the next requests are still a member's.
            if (browser === member && path === '/logout' && method === 'POST') {
              await member.login('odd-input');
              csrf = await member.csrf();
            }
          }
    expect(seen).toEqual([]);
  });

  it('answers malformed and oversized forms with a typed 4xx', async () => {
    const { browser, csrf } = await signedIn('odd-forms');
    const form = 'application/x-www-form-urlencoded';
    const cases: [string, string, number, string][] = [
      [`message=${'x'.repeat(40_000)}`, form, 413, 'payload_too_large'],
      [Array.from({ length: 30 }, (_, index) => `f${index}=1`).join('&'), form, 413, 'payload_too_large'],
      ['message=hi', `${form}; charset=klingon`, 415, 'unsupported_media_type'],
    ];
    for (const [body, type, status, code] of cases) {
      const response = await browser.request('/chat/send', {
        method: 'POST',
        body,
        headers: { accept: 'application/json', 'content-type': type, 'x-csrf-token': csrf },
      });
      expect(response.status, body.slice(0, 30)).toBe(status);
      expect(await response.json()).toMatchObject({ error: { code } });
    }
  });
});
