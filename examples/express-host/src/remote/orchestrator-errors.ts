import { StewardError, type StewardErrorCode } from '@steward/core';
import { StewardClientError } from '@steward/transport-ws/client';

/**
 * The orchestrator could not be reached, or answered that it cannot serve now (a 5xx, a drain's
 * `shutting_down`): the page gets a 503 saying so, and the request can be tried again.
 */
export class OrchestratorUnavailableError extends Error {
  readonly status = 503;
  constructor(cause: unknown) {
    super('The assistant service is unavailable right now; try again shortly.', { cause });
    this.name = 'OrchestratorUnavailableError';
  }
}

/** Codes of core's union the orchestrator's 4xx answers carry, which the pages already word. */
const passedOn: ReadonlySet<string> = new Set<StewardErrorCode>([
  'invalid_input',
  'not_found',
  'session_not_found',
  'session_busy',
  'rate_limited',
  'too_many_active_runs',
  'approval_not_found',
  'approval_conflict',
  'approval_expired',
  'input_not_found',
  'input_conflict',
]);

/**
 * What an orchestrator call's failure is for the pages: the same `StewardError` the in-process
 * `Assistant` would have thrown (so the routes answer with the same words), an
 * {@link OrchestratorUnavailableError} when it is down, or an `internal_error` when it refuses
 * the host itself (a service token it does not trust: a configuration mistake, logged).
 */
export function fromOrchestrator(error: unknown): Error {
  if (!StewardClientError.isInstance(error)) return new OrchestratorUnavailableError(error);
  if (passedOn.has(error.code))
    return new StewardError(error.code as StewardErrorCode, error.message, {
      cause: error,
      details: { ...error.details },
    });
  if (error.status === 0 || error.status >= 500 || error.code === 'invalid_response')
    return new OrchestratorUnavailableError(error);
  if (error.status === 401 || error.status === 403)
    return new StewardError(
      'internal_error',
      `The orchestrator refused the host's service token (${error.message}): check STEWARD_ORCHESTRATOR_JWT_SECRET and the orchestrator's STEWARD_JWT_SECRET, issuer and audience`,
      { cause: error },
    );
  return new StewardError('internal_error', `The orchestrator refused a request: ${error.message}`, {
    cause: error,
  });
}

/** Whether a call failed because what it named does not exist (for this user). */
export const isMissing = (error: unknown): boolean =>
  StewardClientError.isInstance(error) &&
  error.status === 404 &&
  (error.code === 'not_found' || error.code === 'approval_not_found' || error.code === 'session_not_found');
