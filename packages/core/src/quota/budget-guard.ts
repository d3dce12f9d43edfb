import type { StewardError } from '../errors/steward-error.ts';
import type { Usage } from '../events/usage.ts';
import { type BudgetVerdict, quotaExceeded, type TokenBudget } from './token-budget.ts';

/** @internal How a run keeps to its user's token budget, step by step and token by token. */
export interface BudgetGuard {
  /** Before a model call: throws `quota_exceeded` when the budget is already spent. */
  beforeStep(): Promise<void>;
  /**
   * For each streamed delta: throws `quota_exceeded` once the step's output (estimated with the
   * assistant's token counter) would cross what was left, so the run ends mid-stream with its
   * partial answer. The estimate is charged then; input tokens are charged with usage.
   */
  onText(text: string): void;
  /** Charges a model call's reported usage (input plus output). */
  charge(usage: Usage): Promise<void>;
}

const unguarded: BudgetGuard = {
  beforeStep: async () => {},
  onText: () => {},
  charge: async () => {},
};

/** @internal A run's guard; a no-op without a budget. */
export function createBudgetGuard(
  budget: TokenBudget | undefined,
  userId: string,
  countTokens: (text: string) => number,
  warn: (message: string, cause?: unknown) => void,
): BudgetGuard {
  if (budget === undefined) return unguarded;
  let standing: BudgetVerdict = { allowed: true, remaining: Number.POSITIVE_INFINITY };
  let streamed = '';
  let cut: StewardError | undefined;
  return {
    async beforeStep() {
      streamed = '';
      let verdict: BudgetVerdict;
      try {
        verdict = await budget.check(userId);
      } catch (error) {
        // A budget store that is down does not stop the service: the run goes on, unmetered.
        warn('Reading the token budget failed; the step runs unchecked', error);
        return;
      }
      if (!verdict.allowed) throw quotaExceeded(verdict);
      standing = verdict;
    },
    onText(text) {
      if (cut !== undefined) throw cut;
      streamed += text;
      const estimate = countTokens(streamed);
      if (!standing.allowed || standing.tightest === undefined || estimate <= standing.remaining) return;
      const { tightest } = standing;
      // Charged in the background: the run ends now whatever the store says.
      budget.charge(userId, estimate).then(
        (verdict) => {
          if (verdict.allowed) warn('A run was cut for its token budget, which the store says is not spent');
        },
        (error: unknown) => warn('Charging a cut run’s tokens to its budget failed', error),
      );
      cut = quotaExceeded({ allowed: false, ...tightest, used: tightest.used + estimate });
      throw cut;
    },
    async charge(usage) {
      try {
        standing = await budget.charge(userId, usage.total_tokens);
      } catch (error) {
        warn('Charging tokens to the budget failed; they go uncounted', error);
      }
    },
  };
}
