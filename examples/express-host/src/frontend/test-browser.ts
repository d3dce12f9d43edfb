import { createHmac, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';

/**
 * @internal A cookie-keeping HTTP client for tests: what a browser does with the pages' cookies
 * and forms, over real HTTP, without following redirects.
 */
export class TestBrowser {
  readonly base: string;
  readonly cookies = new Map<string, string>();

  constructor(base: string) {
    this.base = base;
  }

  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0)
      headers.set('cookie', [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; '));
    const response = await fetch(`${this.base}${path}`, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const index = pair.indexOf('=');
      const name = pair.slice(0, index);
      const value = pair.slice(index + 1);
      if (/;\s*expires=Thu, 01 Jan 1970/i.test(line) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  async page(path: string): Promise<string> {
    return (await this.request(path)).text();
  }

  /** The CSRF token of the first form on the page. */
  async csrf(path = '/chat'): Promise<string> {
    const token = /name="_csrf" value="([^"]+)"/.exec(await this.page(path))?.[1];
    if (token === undefined) throw new Error(`no CSRF field on ${path}`);
    return token;
  }

  post(
    path: string,
    fields: Record<string, string>,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    return this.request(path, { method: 'POST', body: new URLSearchParams(fields), headers });
  }

  async login(username: string): Promise<Response> {
    return this.post('/login', { _csrf: await this.csrf('/login'), username });
  }
}

/** A session id signed as express-session signs its cookie (`s:` + id + `.` + HMAC-SHA256, base64). */
export function signSessionId(id: string, secret: string): string {
  const mac = createHmac('sha256', secret).update(id).digest('base64').replace(/=+$/, '');
  return encodeURIComponent(`s:${id}.${mac}`);
}

/** The HTTP status a WebSocket upgrade to `url` gets: 101 when it is accepted. */
export function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
      },
    });
    request.once('upgrade', (response, socket) => {
      socket.destroy();
      resolve(response.statusCode ?? 0);
    });
    request.once('response', (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.once('error', reject);
    request.end();
  });
}
