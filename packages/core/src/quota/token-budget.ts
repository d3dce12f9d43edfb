import { z } from 'zod';
import { StewardError } from '../errors/steward-error.ts';

/** The periods a budget counts tokens over, in UTC: a calendar day, a calendar month. */
export type BudgetPeriod = 'day' | 'month';

/** A user's token budgets (input plus output tokens); an absent period has no limit. */
export interface TokenBudgetLimits {
  readonly perDay?: number | undefined;
  readonly perMonth?: number | undefined;
}

/** Where a user stands against their budgets. */
export type BudgetVerdict =
  | {
      readonly allowed: true;
      /** Tokens left in the tightest period; `Infinity` when no period has a limit. */
      readonly remaining: number;
      /** The tightest period, when any has a limit: what a run that crosses it is told. */
      readonly tightest?: Omit<BudgetRefusal, 'allowed'> | undefined;
    }
  | {
      readonly allowed: false;
      /** The period whose budget is spent (the one that resets last, when both are). */
      readonly period: BudgetPeriod;
      readonly limit: number;
      readonly used: number;
      /** When the period starts over (ISO 8601), and how long that is from now. */
      readonly resetAt: string;
      readonly retryAfterMs: number;
    };

/** A refused {@link BudgetVerdict}. */
export type BudgetRefusal = Extract<BudgetVerdict, { allowed: false }>;

/**
 * Per-user token budgets, counted per UTC day and month, shared by every instance that uses the
 * same store. `createInMemoryTokenBudget()` for one process; `createRedisTokenBudget()` (from
 * `@steward/storage-redis`) across instances, where each charge is one atomic script.
 */
export interface TokenBudget {
  /** The user's standing now: refused once any period's budget is spent. */
  check(userId: string): Promise<BudgetVerdict>;
  /** Adds `tokens` to the user's count in every period, atomically; resolves the standing after. */
  charge(userId: string, tokens: number): Promise<BudgetVerdict>;
}

/** Options shared by the token budget factories. */
export interface TokenBudgetOptions {
  /** Every user's budgets, unless `limitsFor` says otherwise. */
  readonly limits: TokenBudgetLimits;
  /** A user's own budgets (an override, a plan), or undefined for the defaults. */
  readonly limitsFor?: ((userId: string) => TokenBudgetLimits | undefined) | undefined;
  /** @internal The clock periods are counted by. */
  readonly _internal?: { readonly now?: (() => number) | undefined } | undefined;
}

const positive = z.number().int().positive().optional();

/** @internal Checks {@link TokenBudgetOptions}, for the budget factories of every package. */
export const tokenBudgetOptionsSchema = z
  .object({
    limits: z.object({ perDay: positive, perMonth: positive }).strict(),
    limitsFor: z
      .custom<(userId: string) => TokenBudgetLimits | undefined>((value) => typeof value === 'function')
      .optional(),
    _internal: z
      .object({ now: z.custom<() => number>((value) => typeof value === 'function').optional() })
      .optional(),
  })
  .strict();

/** One period a charge counts in: its counter's name, limit and end. For budget implementations. */
export interface PeriodWindow {
  readonly period: BudgetPeriod;
  /** `day:2026-11-30`, `month:2026-11`: the counter's name within the user's. */
  readonly key: string;
  readonly limit: number;
  /** Epoch milliseconds when the period ends. */
  readonly endsAt: number;
}

/** The periods that have a limit, at `now` (UTC). For {@link TokenBudget} implementations. */
export function periodWindows(limits: TokenBudgetLimits, now: number): PeriodWindow[] {
  const date = new Date(now);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  const day = date.getUTCDate();
  const windows: PeriodWindow[] = [];
  if (limits.perDay !== undefined)
    windows.push({
      period: 'day',
      key: `day:${date.toISOString().slice(0, 10)}`,
      limit: limits.perDay,
      endsAt: Date.UTC(year, month, day + 1),
    });
  if (limits.perMonth !== undefined)
    windows.push({
      period: 'month',
      key: `month:${date.toISOString().slice(0, 7)}`,
      limit: limits.perMonth,
      endsAt: Date.UTC(year, month + 1, 1),
    });
  return windows;
}

/** The verdict for counts `used[i]` in `windows[i]`. For {@link TokenBudget} implementations. */
export function verdictOf(
  windows: readonly PeriodWindow[],
  used: readonly number[],
  now: number,
): BudgetVerdict {
  const describe = (window: PeriodWindow, count: number): Omit<BudgetRefusal, 'allowed'> => ({
    period: window.period,
    limit: window.limit,
    used: count,
    resetAt: new Date(window.endsAt).toISOString(),
    retryAfterMs: Math.max(0, window.endsAt - now),
  });
  let spent: { window: PeriodWindow; count: number } | undefined;
  let tightest: { window: PeriodWindow; count: number } | undefined;
  windows.forEach((window, index) => {
    const count = used[index] ?? 0;
    if (count >= window.limit && (spent === undefined || window.endsAt > spent.window.endsAt))
      spent = { window, count };
    if (tightest === undefined || window.limit - count < tightest.window.limit - tightest.count)
      tightest = { window, count };
  });
  if (spent !== undefined) return { allowed: false, ...describe(spent.window, spent.count) };
  if (tightest === undefined) return { allowed: true, remaining: Number.POSITIVE_INFINITY };
  return {
    allowed: true,
    remaining: tightest.window.limit - tightest.count,
    tightest: describe(tightest.window, tightest.count),
  };
}

/** The `quota_exceeded` error of a refused verdict: what a host answers with (429 and the reset time). */
export function quotaExceeded(verdict: BudgetRefusal): StewardError {
  return new StewardError(
    'quota_exceeded',
    `The ${verdict.period === 'day' ? 'daily' : 'monthly'} token budget of ${verdict.limit} is spent; it resets at ${verdict.resetAt}`,
    {
      details: {
        period: verdict.period,
        limit: verdict.limit,
        used: verdict.used,
        resetAt: verdict.resetAt,
        retryAfterMs: verdict.retryAfterMs,
      },
    },
  );
}
