import { z } from 'zod';
import type { AuthorizationOutcome } from '../events/stream-event.ts';
import { safeIdSchema } from '../internal/safe-text.ts';

/** How a call's wait for the user to connect its server ended: what `assistant.completeAuthorization` takes. */
export interface AuthorizationCompletion {
  /** The paused run (the `run_id` of its `authorization_required` event). */
  readonly runId: string;
  /** The call that waits (the event's `call_id`). */
  readonly callId: string;
  /** The run's user: only they may complete it (the OAuth state was bound to them). */
  readonly userId: string;
  /** `connected`: the call runs now. `declined` (or the authorization failed): the model hears `tool_authorization_declined`. */
  readonly outcome: AuthorizationOutcome;
}

/** @internal */
export const authorizationCompletionSchema = z.object({
  runId: safeIdSchema.min(1).max(512),
  callId: safeIdSchema.min(1).max(512),
  userId: safeIdSchema.min(1).max(256),
  outcome: z.enum(['connected', 'declined']),
}) satisfies z.ZodType<AuthorizationCompletion>;
