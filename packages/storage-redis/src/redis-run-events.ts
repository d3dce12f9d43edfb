import {
  checkEventPage,
  checkStorable,
  type RunFence,
  runFencedError,
  StewardError,
  type StewardEvent,
  stewardEventSchema,
} from '@steward/core';
import type { Redis } from 'ioredis';

// Append, in one step, so concurrent writers (any instance) never leave a gap or a duplicate.
// A batch may start inside what is stored: ioredis resends an append whose reply a dropped
// connection lost, and Redis may well have applied it. The stored part must then be the same
// JSON, byte for byte (the same event objects serialize the same); only the rest is added.
// Fencing: KEYS[3] holds the highest epoch any writer (or claim, see raiseFenceScript) of the run
// presented; a batch with a lower one (ARGV[3], -1 for none) is refused and raises nothing.
// Replies: {1, last} stored; {0, last} a gap; {2, conflictSeq, last} other content stored;
// {3, fence} a stale epoch.
const appendScript = `
local fence = tonumber(redis.call('GET', KEYS[3]) or '0')
local epoch = tonumber(ARGV[3])
if epoch >= 0 and epoch < fence then return {3, fence} end
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
local first = tonumber(ARGV[2])
local count = #ARGV - 3
if first < 1 or first > last + 1 then return {0, last} end
local stored = math.min(count, last - first + 1)
if stored > 0 then
  local entries = redis.call('XRANGE', KEYS[1], first .. '-1', (first + stored - 1) .. '-1')
  for i = 1, stored do
    local entry = entries[i]
    if entry == nil or entry[1] ~= (first + i - 1) .. '-1' or entry[2][2] ~= ARGV[i + 3] then
      return {2, first + i - 1, last}
    end
  end
end
if epoch > fence then redis.call('SET', KEYS[3], epoch, 'EX', ARGV[1]) end
if stored == count then return {1, last} end
for i = stored + 1, count do
  redis.call('XADD', KEYS[1], (first + i - 1) .. '-1', 'e', ARGV[i + 3])
end
redis.call('SET', KEYS[2], first + count - 1, 'EX', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return {1, first + count - 1}
`;

// Raises the run's fence to ARGV[2] (never lowers it); replies the fence now in force.
const raiseFenceScript = `
local fence = tonumber(redis.call('GET', KEYS[1]) or '0')
local epoch = tonumber(ARGV[2])
if epoch > fence then
  redis.call('SET', KEYS[1], epoch, 'EX', ARGV[1])
  return epoch
end
return fence
`;

function parseEntries(entries: unknown): StewardEvent[] {
  if (!Array.isArray(entries)) return [];
  return entries.map((entry) => {
    const fields = (entry as [string, string[]])[1];
    const raw = fields[fields.indexOf('e') + 1] ?? '';
    let parsed: ReturnType<typeof stewardEventSchema.safeParse> | undefined;
    try {
      parsed = stewardEventSchema.safeParse(JSON.parse(raw));
    } catch {}
    if (parsed?.success !== true)
      throw new StewardError('storage_error', 'A stored event is malformed', { cause: parsed?.error });
    return parsed.data as StewardEvent;
  });
}

/** @internal What the store's run events need: its client, its keys, their TTL, its error wrapper. */
export interface RunEventsContext {
  readonly redis: Redis;
  readonly key: (...parts: string[]) => string;
  readonly eventTtlSeconds: number;
  readonly fail: (error: unknown, what: string) => StewardError;
}

/** @internal A run's events in a Redis stream, entry id = seq: idempotent appends, paged reads. */
export function createRedisRunEvents({ redis, key, eventTtlSeconds, fail }: RunEventsContext) {
  return {
    async appendEvents(runId: string, events: readonly StewardEvent[], fence?: RunFence): Promise<void> {
      if (events.length === 0) return;
      checkStorable(events, 'events');
      const first = (events[0] as StewardEvent).seq;
      events.forEach((event, index) => {
        if (event.run_id !== runId || event.seq !== first + index) {
          throw new StewardError(
            'storage_error',
            `Events of run ${runId} must be consecutive and of that run`,
          );
        }
      });
      let result: unknown;
      try {
        result = await redis.eval(
          appendScript,
          3,
          key('run', runId, 'events'),
          key('run', runId, 'seq'),
          key('run', runId, 'fence'),
          eventTtlSeconds,
          first,
          fence?.epoch ?? -1,
          ...events.map((event) => JSON.stringify(event)),
        );
      } catch (error) {
        throw fail(error, 'Storing run events');
      }
      const [outcome, second, third] = result as [number, number, number?];
      if (outcome === 3 && fence !== undefined) throw runFencedError(runId, fence, second);
      if (outcome === 0) {
        throw new StewardError(
          'storage_error',
          `Event seq ${first} of run ${runId} does not follow seq ${second}`,
          {
            details: { lastSeq: second },
          },
        );
      }
      if (outcome === 2) {
        throw new StewardError(
          'storage_error',
          `Event seq ${second} of run ${runId} is already stored with other content`,
          { details: { conflictSeq: second, lastSeq: third } },
        );
      }
    },
    async raiseFence(runId: string, epoch: number): Promise<number> {
      try {
        return Number(
          await redis.eval(raiseFenceScript, 1, key('run', runId, 'fence'), eventTtlSeconds, epoch),
        );
      } catch (error) {
        throw fail(error, 'Raising the run fence');
      }
    },
    async listEvents(
      runId: string,
      page: { afterSeq?: number; limit?: number } = {},
    ): Promise<StewardEvent[]> {
      checkEventPage(page);
      const range = [key('run', runId, 'events'), `(${page.afterSeq ?? 0}-1`, '+'];
      try {
        return parseEntries(
          await (page.limit === undefined
            ? redis.call('XRANGE', ...range)
            : redis.call('XRANGE', ...range, 'COUNT', page.limit)),
        );
      } catch (error) {
        throw fail(error, 'Reading run events');
      }
    },
  };
}
