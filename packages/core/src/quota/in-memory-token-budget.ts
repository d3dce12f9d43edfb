import { parseOptions } from '../internal/parse-options.ts';
import {
  periodWindows,
  type TokenBudget,
  type TokenBudgetOptions,
  tokenBudgetOptionsSchema,
  verdictOf,
} from './token-budget.ts';

/**
 * Token budgets in this process's memory: right for one instance and for tests. Counters of
 * periods that ended are dropped as they are passed.
 *
 * @example
 * ```ts
 * const assistant = new Assistant({ model, budget: createInMemoryTokenBudget({ limits: { perDay: 200_000 } }) });
 * ```
 */
export function createInMemoryTokenBudget(options: TokenBudgetOptions): TokenBudget {
  const config = parseOptions(tokenBudgetOptionsSchema, options, 'createInMemoryTokenBudget');
  const now = config._internal?.now ?? Date.now;
  const counts = new Map<string, { used: number; endsAt: number }>();
  const windowsOf = (userId: string, at: number) =>
    periodWindows(config.limitsFor?.(userId) ?? config.limits, at);
  const read = (userId: string, key: string, at: number) => {
    const entry = counts.get(`${userId}\u0000${key}`);
    return entry === undefined || entry.endsAt <= at ? 0 : entry.used;
  };
  return {
    async check(userId) {
      const at = now();
      const windows = windowsOf(userId, at);
      return verdictOf(
        windows,
        windows.map((window) => read(userId, window.key, at)),
        at,
      );
    },
    async charge(userId, tokens) {
      const at = now();
      const windows = windowsOf(userId, at);
      const used = windows.map((window) => {
        const total = read(userId, window.key, at) + Math.max(0, Math.round(tokens));
        counts.set(`${userId}\u0000${window.key}`, { used: total, endsAt: window.endsAt });
        return total;
      });
      for (const [key, entry] of counts) if (entry.endsAt <= at) counts.delete(key);
      return verdictOf(windows, used, at);
    },
  };
}
