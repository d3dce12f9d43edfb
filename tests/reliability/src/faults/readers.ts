import type { StewardEvent } from '@steward/core';
import { createStewardClient, StewardClientError } from '@steward/transport-ws/client';
import { createParser } from 'eventsource-parser';

/** What one reader of a run saw, and how its stream ended. */
export interface Reading {
  readonly name: string;
  readonly events: StewardEvent[];
  /**
   * `final`: the run's last event arrived. `terminal_error`: the server said, in a frame or an
   * error status, that the stream failed. `closed`: the stream ended normally without `final`,
   * the one ending a reader cannot tell from a finished run, so never acceptable.
   */
  ending?: 'final' | 'terminal_error' | 'closed';
  /** The terminal error as the reader got it. */
  error?: string;
}

/**
 * A WebSocket reader through the client library (it resumes a dropped socket by `last_seq`, as
 * a browser would). `bound` is a safety net that fails the scenario if the stream never ends.
 */
export function readOverWebSocket(
  name: string,
  url: string,
  token: string,
  runId: string,
  bound: AbortSignal,
) {
  const reading: Reading = { name, events: [] };
  const client = createStewardClient({
    url,
    token,
    reconnect: { retries: 4, minDelayMs: 100, maxDelayMs: 400 },
  });
  const done = (async () => {
    try {
      for await (const event of client.stream(runId, { signal: bound })) reading.events.push(event);
      reading.ending = reading.events.at(-1)?.type === 'final' ? 'final' : 'closed';
    } catch (error) {
      reading.ending = 'terminal_error';
      reading.error = StewardClientError.isInstance(error)
        ? `${error.code}: ${error.message}`
        : String(error);
    }
    return reading;
  })();
  return { reading, done };
}

/**
 * An SSE reader that reconnects with Last-Event-ID when the stream ends before `final`, as
 * EventSource does (a 204 means the server has nothing more: the run ended). A `: error` comment
 * or an error status is the terminal error.
 */
export function readOverSse(name: string, url: string, token: string, runId: string, bound: AbortSignal) {
  const reading: Reading = { name, events: [] };
  const done = (async () => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const lastSeq = reading.events.at(-1)?.seq;
      let response: Response;
      try {
        response = await fetch(`${url}/api/v1/runs/${runId}/events`, {
          headers: {
            authorization: `Bearer ${token}`,
            ...(lastSeq === undefined ? {} : { 'last-event-id': String(lastSeq) }),
          },
          signal: bound,
        });
      } catch (error) {
        if (bound.aborted) throw error;
        continue; // The replica is unreachable for now: try again, as EventSource would.
      }
      if (response.status === 204) break;
      if (response.status !== 200) {
        reading.ending = 'terminal_error';
        reading.error = `${response.status}: ${await response.text()}`;
        return reading;
      }
      let failed: string | undefined;
      const parser = createParser({
        onEvent: (message) => reading.events.push(JSON.parse(message.data) as StewardEvent),
        onComment: (comment) => {
          if (comment.trimStart().startsWith('error')) failed = comment.trim();
        },
      });
      try {
        const decoder = new TextDecoder();
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>)
          parser.feed(decoder.decode(chunk, { stream: true }));
      } catch (error) {
        if (bound.aborted) throw error;
        // A dropped connection: reconnect after the last event seen.
      }
      if (failed !== undefined) {
        reading.ending = 'terminal_error';
        reading.error = failed;
        return reading;
      }
      if (reading.events.at(-1)?.type === 'final') break;
    }
    reading.ending = reading.events.at(-1)?.type === 'final' ? 'final' : 'closed';
    return reading;
  })();
  return { reading, done };
}
