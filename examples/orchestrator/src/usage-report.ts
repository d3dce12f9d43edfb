import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Authenticator } from '@steward/transport-ws';
import pg from 'pg';
import { z } from 'zod';

/** One row of a usage report: a day's or a session's runs and what they used. */
export interface UsageRow {
  readonly runs: number;
  readonly input_tokens: number;
  readonly output_tokens: number;
  readonly total_tokens: number;
  /** US dollars by the assistant's price table; runs of an unpriced model count as 0. */
  readonly cost_usd: number;
}

const querySchema = z.object({
  since: z.iso.date().optional(),
});

const dayMs = 86_400_000;

/**
 * `GET /api/v1/usage?since=YYYY-MM-DD` for the caller (a user token; a run token is refused):
 * tokens and cost per UTC day and per session (the 100 most recent), from the runs' stored
 * usage. Default: the last 30 days.
 */
export function createUsageReport(options: { pool: pg.Pool; schema: string; auth: Authenticator }) {
  const runs = `${pg.escapeIdentifier(options.schema)}.runs`;
  const sums = `count(*)::int AS runs,
    coalesce(sum((usage->>'input_tokens')::bigint), 0)::bigint AS input_tokens,
    coalesce(sum((usage->>'output_tokens')::bigint), 0)::bigint AS output_tokens,
    coalesce(sum((usage->>'total_tokens')::bigint), 0)::bigint AS total_tokens,
    coalesce(sum((usage->>'cost_usd')::numeric), 0)::float8 AS cost_usd`;
  const row = (value: Record<string, unknown>): UsageRow => ({
    runs: Number(value.runs),
    input_tokens: Number(value.input_tokens),
    output_tokens: Number(value.output_tokens),
    total_tokens: Number(value.total_tokens),
    cost_usd: Math.round(Number(value.cost_usd) * 1e6) / 1e6,
  });

  return async (request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> => {
    const token = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1];
    let userId: string;
    try {
      if (token === undefined) throw new Error('no token');
      const principal = await options.auth.authenticate(token);
      if (principal.runId !== undefined)
        return send(response, 403, error('forbidden', 'A run token cannot read usage'));
      userId = principal.userId;
    } catch {
      return send(response, 401, error('unauthorized', 'A valid bearer token is required'));
    }
    const parsed = querySchema.safeParse(Object.fromEntries(url.searchParams));
    if (!parsed.success)
      return send(response, 400, error('invalid_request', 'since must be a date, YYYY-MM-DD'));
    const since = parsed.data.since ?? new Date(Date.now() - 30 * dayMs).toISOString().slice(0, 10);
    const [byDay, bySession, total] = await Promise.all([
      options.pool.query(
        `SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, ${sums}
           FROM ${runs} WHERE user_id = $1 AND created_at >= $2::date AND usage IS NOT NULL
           GROUP BY 1 ORDER BY 1`,
        [userId, since],
      ),
      options.pool.query(
        `SELECT session_id, max(created_at) AS last_run_at, ${sums}
           FROM ${runs} WHERE user_id = $1 AND created_at >= $2::date AND usage IS NOT NULL
           GROUP BY 1 ORDER BY 2 DESC LIMIT 100`,
        [userId, since],
      ),
      options.pool.query(
        `SELECT ${sums} FROM ${runs} WHERE user_id = $1 AND created_at >= $2::date AND usage IS NOT NULL`,
        [userId, since],
      ),
    ]);
    send(response, 200, {
      since,
      total: row(total.rows[0] ?? {}),
      by_day: byDay.rows.map((value) => ({ day: value.day as string, ...row(value) })),
      by_session: bySession.rows.map((value) => ({
        session_id: value.session_id as string,
        last_run_at: (value.last_run_at as Date).toISOString(),
        ...row(value),
      })),
    });
  };
}

function error(code: string, message: string) {
  return { error: { code, message } };
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}
