import type { ToolDefinition } from '../tools/tool-provider.ts';

/** One tool call the policy is asked about, with everything needed to decide. */
export interface ConsentRequest {
  readonly tool: ToolDefinition;
  readonly args: unknown;
  readonly userId: string;
  readonly sessionId: string;
  readonly runId: string;
  readonly callId: string;
}

/**
 * - `allow`: run the call now.
 * - `confirm`: the call needs the user's explicit consent first (`require_confirmation: true`).
 * - `deny`: never run it; the model gets a `tool_denied` error with `reason`.
 */
export type ConsentDecision =
  | { readonly type: 'allow' }
  | { readonly type: 'confirm'; readonly reason: string }
  | { readonly type: 'deny'; readonly reason: string };

/**
 * The consent seam: asked once per tool call, right before it would run. Every tool path goes
 * through the run loop's one call to `evaluate`, so a policy cannot be bypassed.
 */
export interface ConsentPolicy {
  evaluate(request: ConsentRequest, options: { signal: AbortSignal }): Promise<ConsentDecision>;
}

/**
 * The default policy: read-only tools run; side-effect tools need the user's confirmation.
 * Until an approval store is configured, a call that needs confirmation is not run and the
 * model is told so: Steward never performs a side effect nobody approved.
 */
export function createSideEffectConsentPolicy(): ConsentPolicy {
  return {
    evaluate: async ({ tool }) =>
      tool.sideEffect
        ? { type: 'confirm', reason: `${tool.name} has side effects and needs the user's confirmation` }
        : { type: 'allow' },
  };
}

/** Allows every call, side effects included. For trusted hosts and tests only. */
export function createAllowAllConsentPolicy(): ConsentPolicy {
  return { evaluate: async () => ({ type: 'allow' }) };
}
