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
 * The consent seam: host rules for tool calls. It is asked when a call is requested and again
 * at the one enforcement point right before the call runs, where a `confirm` answer requires a
 * recorded, matching, unused approval.
 */
export interface ConsentPolicy {
  evaluate(request: ConsentRequest, options: { signal: AbortSignal }): Promise<ConsentDecision>;
}

/**
 * The default policy: read-only tools run; side-effect tools need the user's confirmation
 * (`approval_required`, then `assistant.approve()` or `deny()`), unless the user allowed the
 * tool with `assistant.allowTool()`. Steward never performs a side effect nobody approved.
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
