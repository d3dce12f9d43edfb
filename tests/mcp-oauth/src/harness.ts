// What the tests share: a fetch that records every request the registry makes, a vault, a
// clock, a tool call context, and a browser's cookies and redirects by hand.
import {
  createEnvironmentKeyProvider,
  createTokenVault,
  isStewardError,
  type StewardError,
  type ToolCallContext,
} from '@steward/core';
import { expect } from 'vitest';

export interface Sent {
  readonly method: string;
  readonly url: URL;
  readonly authorization: string | undefined;
  readonly body: URLSearchParams | undefined;
  readonly json: unknown;
  readonly status: number;
}

/** A fetch that records each request (its form or JSON body too) before handing it on. */
export function recordingFetch() {
  const sent: Sent[] = [];
  const fetch = async (input: string | URL, init?: RequestInit) => {
    const response = await globalThis.fetch(input, init);
    const raw = init?.body;
    const text = typeof raw === 'string' ? raw : raw instanceof URLSearchParams ? raw.toString() : undefined;
    let json: unknown;
    try {
      json = text === undefined ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    sent.push({
      method: init?.method ?? 'GET',
      url: new URL(input),
      authorization: new Headers(init?.headers).get('authorization') ?? undefined,
      body:
        raw instanceof URLSearchParams || (text !== undefined && json === undefined)
          ? new URLSearchParams(text)
          : undefined,
      json,
      status: response.status,
    });
    return response;
  };
  return { sent, fetch };
}

export const testVault = () =>
  createTokenVault({
    keys: createEnvironmentKeyProvider({ keys: `k1:${Buffer.alloc(32, 9).toString('base64')}` }),
  });

export function testClock() {
  let time = Date.now();
  return {
    now: () => time,
    advance: (ms: number) => {
      time += ms;
    },
  };
}

export const callContext = (userId: string, callId = 'call-1'): ToolCallContext => ({
  signal: new AbortController().signal,
  runId: `run-${userId}`,
  sessionId: 's',
  userId,
  callId,
  reportProgress: () => {},
});

export async function authorizationRequired(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(
    isStewardError(error, 'authorization_required'),
    `${String(error)} ${String((error as { cause?: unknown }).cause)}`,
  ).toBe(true);
  return (error as StewardError).details as {
    server: string;
    authorizationUrl: string;
    state: string;
    scopes: string[];
  };
}

/** A browser's cookies and redirects, by hand, so each step of a flow is the test's to assert. */
export class Agent {
  readonly cookies = new Map<string, string>();
  constructor(readonly origin: string) {}
  async go(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0)
      headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const index = pair.indexOf('=');
      this.cookies.set(pair.slice(0, index), pair.slice(index + 1));
    }
    return response;
  }
  /** Follows redirects on this origin until one leaves it (the client's redirect URI) or a page answers. */
  async follow(response: Response): Promise<Response | URL> {
    let current = response;
    while (current.status >= 300 && current.status < 400) {
      const next = new URL(current.headers.get('location') ?? '', this.origin);
      if (next.origin !== this.origin) return next;
      current = await this.go(next.href);
    }
    return current;
  }
  post(url: string, fields: Record<string, string>) {
    return this.go(url, { method: 'POST', body: new URLSearchParams(fields) });
  }
}
