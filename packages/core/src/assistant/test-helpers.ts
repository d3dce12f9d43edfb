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
