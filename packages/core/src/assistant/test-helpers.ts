import { z } from 'zod';
import type { StewardEvent } from '../events/stream-event.ts';
import { createMailTool } from '../testing/mail-tool.ts';
import { defineTool } from '../tools/define-tool.ts';
import type { Run } from './run.ts';

/** @internal Reads a run to its end. */
export async function collect(run: Run): Promise<StewardEvent[]> {
  const events: StewardEvent[] = [];
  for await (const event of run) events.push(event);
  return events;
}

/** @internal The event types in order, for compact assertions. */
export function types(events: readonly StewardEvent[]): string[] {
  return events.map((event) => event.type);
}

/** @internal A read-only tool that counts its calls. */
export function weatherTool() {
  const calls: { city: string }[] = [];
  const tool = defineTool({
    name: 'get_weather',
    description: 'Current weather for a city',
    input: z.object({ city: z.string().min(1) }),
    execute: async ({ city }) => {
      calls.push({ city });
      return { city, celsius: 21 };
    },
  });
  return { tool, calls };
}

/** @internal A side-effect tool that records every email it "sends": tests assert the count. */
export const mailTool = createMailTool;

/** @internal A promise the test settles: a model reply, a tool or a storage call waits on it. */
export function gate(): { readonly promise: Promise<void>; readonly open: () => void } {
  let open: () => void = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** @internal A clock that moves only when the test moves it, for `_internal: { now }`. */
export function manualClock(start = Date.parse('2030-01-01T00:00:00.000Z')) {
  let current = start;
  return {
    now: () => current,
    advance: (ms: number) => {
      current += ms;
    },
    iso: (offsetMs = 0) => new Date(current + offsetMs).toISOString(),
  };
}
