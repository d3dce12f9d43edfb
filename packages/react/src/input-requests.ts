import type { InputAction, InputRequiredEvent } from '@steward/core';
import type { StewardClient, StewardClientError } from '@steward/transport-ws/client';
import type { ChatMessage, ToolCard, ToolInputRequest } from './chat-message.ts';

/** @internal An answered request for input, as `POST /inputs/:request_id` returns it. */
export type InputView = Awaited<ReturnType<StewardClient['respondToInput']>>;

/** @internal What an `input_required` event shows, pending. */
export function inputRequestOf(event: InputRequiredEvent): ToolInputRequest {
  return {
    runId: event.run_id,
    requestId: event.request_id,
    callId: event.call_id,
    toolSlug: event.tool_slug,
    server: event.server,
    message: event.message,
    mode: event.mode,
    requestedSchema: event.requested_schema,
    url: event.url,
    expiresAt: event.expires_at,
    status: 'pending',
    action: undefined,
    error: undefined,
  };
}

/** @internal The requests for input that wait for the user, oldest first. */
export function pendingInputsOf(messages: readonly ChatMessage[]): ToolInputRequest[] {
  return messages.flatMap((message) =>
    message.role === 'tool' ? message.inputRequests.filter((request) => request.status === 'pending') : [],
  );
}

/** @internal `messages` with the request `requestId` changed by `change` (the same array when nothing changed). */
export function updateInput(
  messages: readonly ChatMessage[],
  requestId: string,
  change: (request: ToolInputRequest) => ToolInputRequest,
): readonly ChatMessage[] {
  const index = messages.findIndex(
    (message) =>
      message.role === 'tool' && message.inputRequests.some((request) => request.requestId === requestId),
  );
  const card = messages[index] as ToolCard | undefined;
  if (card === undefined) return messages;
  let changed = false;
  const inputRequests = card.inputRequests.map((request) => {
    if (request.requestId !== requestId) return request;
    const next = change(request);
    changed ||= next !== request;
    return next;
  });
  if (!changed) return messages;
  const copy = messages.slice();
  copy[index] = { ...card, inputRequests };
  return copy;
}

/** @internal The request resolved with `action` (the answer, a cancel, a timeout); later news of it changes nothing. */
export function resolveInput(request: ToolInputRequest, action: InputAction): ToolInputRequest {
  return request.status === 'resolved'
    ? request
    : { ...request, status: 'resolved', action, error: undefined };
}

/** @internal A refused answer: the request stays pending, with the reason for the form to show. */
export function refuseInput(request: ToolInputRequest, error: StewardClientError): ToolInputRequest {
  return request.status === 'resolved' ? request : { ...request, error };
}

/** @internal A card whose run ended: what it still asked can no longer be answered (the run cancelled it). */
export function cancelOpenInputs(card: ToolCard): ToolCard {
  if (!card.inputRequests.some((request) => request.status === 'pending')) return card;
  return { ...card, inputRequests: card.inputRequests.map((request) => resolveInput(request, 'cancel')) };
}
