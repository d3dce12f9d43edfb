/**
 * Every code a {@link StewardError} can carry. One list, so a `switch` over
 * `error.code` is exhaustive and hosts can map codes to HTTP statuses or UI.
 *
 * - `invalid_options`: a factory or constructor got options that fail its schema (`details.issues`).
 * - `invalid_input`: `assistant.run()` got bad input (`details.issues`).
 * - `model_error`: the model provider rejected the request (4xx other than 429) or answered nonsense.
 * - `model_rate_limited`: the provider answered 429 (`retryAfterMs` when it said so). Retryable.
 * - `model_unavailable`: 5xx, a refused or dropped connection, a stream cut mid-way. Retryable.
 * - `model_stream_stalled`: no chunk arrived for `stallTimeoutMs`; the run ended with a partial answer. Retryable.
 * - `tool_not_found`: the model called a tool that is not offered in this run.
 * - `tool_invalid_arguments`: the model's arguments are not JSON or fail the tool's schema (`details.issues`).
 * - `tool_invalid_output`: the tool returned something its `output` schema rejects.
 * - `tool_execution_failed`: the tool threw or its server reported an error.
 * - `tool_timeout`: the tool did not finish within `toolTimeoutMs`. Retryable.
 * - `tool_denied`: the consent policy refused the call.
 * - `tool_unavailable`: the tool's server is down or its circuit breaker is open. Retryable.
 * - `tool_outcome_unknown`: a side-effect call started before a crash and never reported back; it is not run again.
 * - `tool_authorization_declined`: the tool's server needs the user to connect their account, and
 *   they declined or the authorization failed or expired; the model hears it as a tool error.
 * - `authorization_required`: a tool's server needs the run's user to authorize it (connect their
 *   account, or grant more scopes) before the call can run (`details.server`,
 *   `details.authorizationUrl`, `details.state`, `details.expiresAt`, `details.scopes`). A run
 *   pauses on it, like an approval; it never reaches the model.
 * - `authorization_failed`: completing an authorization failed: its state is unknown, used,
 *   expired or another user's, or the authorization server refused (`details.reason`; the
 *   server's OAuth `details.error` when it gave one).
 * - `input_not_found`: no input request with that id exists in this run for this user.
 * - `input_conflict`: the input request is no longer open: answered, cancelled, timed out, or its run ended.
 * - `approval_required`: a side-effect call has no recorded, matching, unused approval, so it did not run.
 * - `approval_not_found`: no approval with that call id exists for this user.
 * - `approval_expired`: the approval's time ran out before anyone decided.
 * - `approval_conflict`: the approval was already decided or used; a decision is single-use.
 * - `run_aborted`: the run was stopped by `run.abort()` or the caller's signal.
 * - `run_timeout`: the run exceeded `runTimeoutMs`. Retryable.
 * - `run_interrupted`: the instance running the run stopped (crash, kill) before it ended; its partial answer is kept. Retryable.
 * - `run_fenced`: storage refused a write of a run because the writer's epoch is stale: another
 *   instance took the run over (resumed or recovered it) meanwhile (`details.runId`,
 *   `details.epoch`: the writer's, `details.currentEpoch` when known). The stale instance stops
 *   without writing anything more.
 * - `max_steps_exceeded`: the model still wanted tools after `maxSteps` model calls.
 * - `session_not_found`: the session does not exist or belongs to another user.
 * - `session_busy`: another run of the session is active (one active run per session), or a run lost its session lock.
 * - `rate_limited`: the user started too many runs in the window (`details.retryAfterMs`). Retryable.
 * - `too_many_active_runs`: the user already has as many active runs (running or awaiting
 *   approval) as allowed (`details.limit`, `details.retryAfterMs`: a polling hint, since nobody
 *   knows when a run ends). Retryable once one of them ends.
 * - `quota_exceeded`: the user's token budget for the day or month is spent (`details.period`,
 *   `details.limit`, `details.used`, `details.resetAt`, `details.retryAfterMs`): refused at
 *   admission, or a run that crossed it ended with its partial answer. Not retryable before `resetAt`.
 * - `not_found`: a stored record (run, session) does not exist for this caller.
 * - `storage_error`: the storage adapter failed or rejected a write (`details` says why).
 * - `vault_error`: the token vault cannot open a record or reach its keys, though the store worked
 *   (`details.reason`): `undecryptable` (tampered, moved to another owner or name, or wrapped
 *   under a key that does not match), `unknown_key` (the key provider lacks `details.keyId`, e.g.
 *   a key removed before rotation finished), `unsupported_version` (a record format this release
 *   cannot read) or `key_provider_failed` (the provider, e.g. a KMS, threw; `cause` keeps its
 *   error). `details` names the record (`userId`, `kind`, `name`, `keyId`), never its value.
 * - `internal_error`: a bug in Steward or an adapter threw something unexpected.
 */
export type StewardErrorCode =
  | 'invalid_options'
  | 'invalid_input'
  | 'model_error'
  | 'model_rate_limited'
  | 'model_unavailable'
  | 'model_stream_stalled'
  | 'tool_not_found'
  | 'tool_invalid_arguments'
  | 'tool_invalid_output'
  | 'tool_execution_failed'
  | 'tool_timeout'
  | 'tool_denied'
  | 'tool_unavailable'
  | 'tool_outcome_unknown'
  | 'tool_authorization_declined'
  | 'authorization_required'
  | 'authorization_failed'
  | 'input_not_found'
  | 'input_conflict'
  | 'approval_required'
  | 'approval_not_found'
  | 'approval_expired'
  | 'approval_conflict'
  | 'run_aborted'
  | 'run_timeout'
  | 'run_interrupted'
  | 'run_fenced'
  | 'max_steps_exceeded'
  | 'session_not_found'
  | 'session_busy'
  | 'rate_limited'
  | 'too_many_active_runs'
  | 'quota_exceeded'
  | 'not_found'
  | 'storage_error'
  | 'vault_error'
  | 'internal_error';

/** Codes that describe a failed tool call; they go back to the model as a tool error. */
export type ToolErrorCode = Extract<StewardErrorCode, `tool_${string}`>;
