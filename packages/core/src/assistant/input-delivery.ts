import type { Coordinator } from '../coordination/coordinator.ts';
import { StewardError } from '../errors/steward-error.ts';
import type { InputRequiredEvent } from '../events/stream-event.ts';
import type { OwnerScope, Storage } from '../storage/storage.ts';
import { checkAnswer, inputNotFound } from './input-waiters.ts';
import { terminalStatuses } from './run-reader.ts';

const pageSize = 500;

/**
 * @internal Answers a request for input of a run that another instance runs: the run's stored
 * events say whether the request exists and is still open and what form it showed, so the
 * answer is checked here (the caller hears `invalid_input` at once) and then sent to the
 * instance holding the request through the coordinator. An answer sent to an instance that died
 * meanwhile goes nowhere: its run is recovered as interrupted.
 */
export async function deliverElsewhere(
  context: { readonly storage: Storage; readonly coordinator: Coordinator },
  runId: string,
  requestId: string,
  response: unknown,
  scope: OwnerScope,
): Promise<void> {
  const { storage, coordinator } = context;
  const record = await storage.getRun(runId, scope);
  if (record === undefined) throw new StewardError('not_found', `Run ${runId} does not exist`);
  let request: InputRequiredEvent | undefined;
  let resolved = false;
  for (let afterSeq = 0; ; ) {
    const page = await storage.listEvents(runId, { ...scope, afterSeq, limit: pageSize });
    for (const event of page) {
      if (event.type === 'input_required' && event.request_id === requestId) request = event;
      if (event.type === 'input_resolved' && event.request_id === requestId) resolved = true;
    }
    if (page.length < pageSize) break;
    afterSeq = page.at(-1)?.seq ?? afterSeq;
  }
  if (request === undefined) throw inputNotFound(runId, requestId);
  if (resolved || terminalStatuses.has(record.status))
    throw new StewardError('input_conflict', `Input request ${requestId} was already answered or cancelled`);
  const answer = checkAnswer(
    { mode: request.mode, requestedSchema: request.requested_schema },
    response,
    `respondToInput(${requestId})`,
  );
  if (coordinator.deliverInput === undefined) {
    throw new StewardError(
      'internal_error',
      `Run ${runId} runs on another instance and the coordinator cannot deliver answers (no deliverInput)`,
    );
  }
  await coordinator.deliverInput(runId, requestId, answer);
}
