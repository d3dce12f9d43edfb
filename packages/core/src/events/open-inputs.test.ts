import { describe, expect, it } from 'vitest';
import { openInputRequests } from './open-inputs.ts';
import type { StewardEvent } from './stream-event.ts';

const base = { run_id: 'r1', timestamp: '2030-01-01T00:00:00.000Z' };
const asked = (seq: number, requestId: string) =>
  ({
    ...base,
    seq,
    type: 'input_required',
    request_id: requestId,
    call_id: 'c1',
    tool: 'desk__find',
    mode: 'form',
    message: 'Which floor?',
    requested_schema: { type: 'object', properties: {} },
  }) as unknown as StewardEvent;
const answered = (seq: number, requestId: string) =>
  ({
    ...base,
    seq,
    type: 'input_resolved',
    request_id: requestId,
    action: 'accept',
  }) as unknown as StewardEvent;

describe('openInputRequests', () => {
  it('keeps the requests nobody answered, oldest first', () => {
    const open = openInputRequests([asked(1, 'a'), asked(2, 'b'), answered(3, 'a'), asked(4, 'c')]);
    expect(open.map((event) => event.request_id)).toEqual(['b', 'c']);
  });
});
