import pg from 'pg';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExpressHost, type ExpressHostOptions, startExpressHost } from '../host.ts';
import type { SessionStoreOptions } from './session-store.ts';
import { TestBrowser } from './test-browser.ts';

// Server-side sessions in each store the host supports, against the machine's real Redis (a fresh
// key prefix) and PostgreSQL (a fresh schema), both removed afterwards.
const redisUrl = process.env.STEWARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const databaseUrl = process.env.STEWARD_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const unique = `${process.pid}_${Date.now().toString(36)}`;
const prefix = `steward-web-sessions-${unique}:`;
const schema = `steward_web_sessions_${unique}`;
const sessionSecret = 'a-test-session-secret-of-at-least-32-characters';

const hosts: ExpressHost[] = [];
async function host(options: ExpressHostOptions): Promise<ExpressHost> {
  const started = await startExpressHost({
    devSignIn: true,
    oidc: false,
    chunkDelayMs: 0,
    sessionSecret,
    ...options,
  });
  hosts.push(started);
  return started;
}

beforeAll(async () => {
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${pg.escapeIdentifier(schema)}`);
  await admin.end();
});
afterAll(async () => {
  for (const started of hosts.splice(0)) await started.stop();
  const redis = createClient({ url: redisUrl });
  await redis.connect();
  const keys: string[] = [];
  for await (const batch of redis.scanIterator({ MATCH: `${prefix}*` })) keys.push(...batch);
  if (keys.length > 0) await redis.del(keys);
  await redis.close();
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  await admin.end();
});

async function signedIn(url: string, username: string): Promise<TestBrowser> {
  const browser = new TestBrowser(url);
  const response = await browser.login(username);
  expect(response.status).toBe(303);
  return browser;
}

/** The same cookies in another browser (or for another host): what a thief would replay. */
function copy(browser: TestBrowser, url = browser.base): TestBrowser {
  const thief = new TestBrowser(url);
  for (const [name, value] of browser.cookies) thief.cookies.set(name, value);
  return thief;
}

async function opensChat(browser: TestBrowser, user: string): Promise<boolean> {
  const response = await browser.request('/chat');
  if (response.status === 303) {
    expect(response.headers.get('location')).toBe('/login');
    return false;
  }
  expect(response.status).toBe(200);
  expect(await response.text()).toContain(`<span class="who" title="">${user}</span>`);
  return true;
}

async function signOut(browser: TestBrowser): Promise<void> {
  const response = await browser.post('/logout', { _csrf: await browser.csrf() });
  expect(response.status).toBe(303);
  expect(response.headers.get('location')).toBe('/login');
}

const stores: [string, SessionStoreOptions][] = [
  ['memory', { type: 'memory' }],
  ['Redis', { type: 'redis', url: redisUrl, prefix }],
  ['PostgreSQL', { type: 'postgres', url: databaseUrl, schema }],
];

describe.each(stores)('sessions in %s', (name, store) => {
  it('ends at sign-out: a copied cookie then gets the login page', async () => {
    const { url } = await host({ sessions: { store } });
    const user = `revoked-${name}`;
    const browser = await signedIn(url, user);
    const stolen = copy(browser);
    expect(await opensChat(stolen, user)).toBe(true);
    await signOut(browser);
    expect(await opensChat(browser, user)).toBe(false);
    expect(await opensChat(stolen, user)).toBe(false);
    // Nor can the copy use the forms it already has.
    const send = await stolen.post('/chat/send', { message: 'hi' }, { accept: 'application/json' });
    expect(send.status).toBe(401);
  });

  it.skipIf(name === 'memory')(
    'is shared by two hosts: one signs in, the other accepts the cookie, and sign-out on either revokes on both',
    async () => {
      const [first, second] = [await host({ sessions: { store } }), await host({ sessions: { store } })];
      const user = `shared-${name}`;
      const onFirst = await signedIn(first.url, user);
      const onSecond = copy(onFirst, second.url);
      expect(await opensChat(onSecond, user)).toBe(true);
      // A form from the second host's page is accepted there: the CSRF token is bound to the session.
      const sent = await onSecond.post('/chat/send', { _csrf: await onSecond.csrf(), message: 'hello' });
      expect(sent.status).toBe(303);

      await signOut(onSecond);
      expect(await opensChat(copy(onFirst), user)).toBe(false);
      expect(await opensChat(copy(onFirst, second.url), user)).toBe(false);

      // And the other way round, with a new sign-in.
      const again = await signedIn(second.url, user);
      expect(await opensChat(copy(again, first.url), user)).toBe(true);
      await signOut(copy(again, first.url));
      expect(await opensChat(again, user)).toBe(false);
    },
  );
});

it('keeps a session in Redis no longer than its idle lifetime', async () => {
  const ttlPrefix = `${prefix}ttl:`;
  const { url } = await host({
    sessions: { store: { type: 'redis', url: redisUrl, prefix: ttlPrefix }, idleMs: 120_000 },
  });
  await signedIn(url, 'ttl');
  const redis = createClient({ url: redisUrl });
  await redis.connect();
  try {
    const keys: string[] = [];
    for await (const batch of redis.scanIterator({ MATCH: `${ttlPrefix}*` })) keys.push(...batch);
    expect(keys).toHaveLength(1);
    const ttl = await redis.pTTL(keys[0] ?? '');
    expect(ttl).toBeGreaterThan(100_000);
    expect(ttl).toBeLessThanOrEqual(120_000);
  } finally {
    await redis.close();
  }
});

describe('session lifetimes', () => {
  let now = Date.parse('2026-11-20T09:00:00Z');
  const idleMs = 10 * 60_000;
  const absoluteMs = 60 * 60_000;
  let url: string;
  beforeAll(async () => {
    ({ url } = await host({ sessions: { idleMs, absoluteMs }, _internal: { now: () => now } }));
  });

  it('ends a session left idle longer than the idle lifetime', async () => {
    const browser = await signedIn(url, 'idle');
    now += idleMs - 1_000;
    expect(await opensChat(browser, 'idle')).toBe(true);
    // That visit counted as activity: the idle time starts again from it.
    now += idleMs - 1_000;
    expect(await opensChat(browser, 'idle')).toBe(true);
    now += idleMs + 1_000;
    expect(await opensChat(browser, 'idle')).toBe(false);
  });

  it('ends a session at its absolute lifetime, however active', async () => {
    const browser = await signedIn(url, 'busy');
    const signedInAt = now;
    while (now + idleMs / 2 < signedInAt + absoluteMs) {
      now += idleMs / 2;
      expect(await opensChat(browser, 'busy')).toBe(true);
    }
    now = signedInAt + absoluteMs;
    expect(await opensChat(browser, 'busy')).toBe(false);
  });

  it('keeps the cookie no longer than the session can live', async () => {
    const expiresIn = (response: Response) => {
      const cookie = response.headers.getSetCookie().find((line) => line.startsWith('steward_session='));
      return Date.parse(/Expires=([^;]+)/i.exec(cookie ?? '')?.[1] ?? '') - Date.now();
    };
    const browser = new TestBrowser(url);
    const signedInAt = now;
    expect(expiresIn(await browser.login('cookie-age'))).toBeLessThanOrEqual(idleMs);
    while (now + idleMs / 2 < signedInAt + absoluteMs - 60_000) {
      now += idleMs / 2;
      await browser.request('/chat');
    }
    // A minute before the absolute end, the cookie is renewed for that minute only.
    now = signedInAt + absoluteMs - 60_000;
    const last = await browser.request('/chat');
    expect(last.status).toBe(200);
    expect(expiresIn(last)).toBeLessThanOrEqual(60_000);
    expect(expiresIn(last)).toBeGreaterThan(55_000);
  });
});

describe('the session cookie', () => {
  it('is an opaque, signed id: httpOnly, SameSite=Lax, and not Secure over plain HTTP', async () => {
    const { url } = await host({});
    const browser = new TestBrowser(url);
    const response = await browser.login('flags');
    const cookie = response.headers.getSetCookie().find((line) => line.startsWith('steward_session='));
    expect(cookie).toMatch(/^steward_session=s%3A[\w-]+\.[\w%/+]+;/);
    expect(cookie).not.toContain('flags');
    expect(cookie).toMatch(/;\s*HttpOnly/i);
    expect(cookie).toMatch(/;\s*SameSite=Lax/i);
    expect(cookie).toMatch(/;\s*Path=\//i);
    expect(cookie).not.toMatch(/;\s*Secure/i);
  });

  it('is Secure, with a __Host- CSRF cookie, when served over HTTPS through a trusted proxy', async () => {
    const { url } = await host({ trustProxy: 'loopback' });
    const browser = new TestBrowser(url);
    const https = { 'x-forwarded-proto': 'https' };
    const page = await browser.request('/login', { headers: https });
    expect(page.headers.getSetCookie().join('\n')).toMatch(/^__Host-steward\.csrf=.*;\s*Secure/im);
    const token = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
    const response = await browser.post('/login', { _csrf: token, username: 'secure' }, https);
    expect(response.status).toBe(303);
    const cookie = response.headers.getSetCookie().find((line) => line.startsWith('steward_session='));
    expect(cookie).toMatch(/;\s*Secure/i);
    expect(cookie).toMatch(/;\s*HttpOnly/i);
    expect((await browser.request('/chat', { headers: https })).status).toBe(200);
  });

  it('is a new id at every sign-in, so a planted cookie is never signed in', async () => {
    const { url } = await host({});
    const first = await signedIn(url, 'fixation');
    const planted = copy(first);
    await signOut(first);
    await planted.login('fixation');
    expect(planted.cookies.get('steward_session')).not.toBe(first.cookies.get('steward_session'));
  });
});
