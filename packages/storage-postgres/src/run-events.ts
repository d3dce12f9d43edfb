import {
  checkEventPage,
  checkRunFence,
  checkStorable,
  StewardError,
  type StewardEvent,
  type Storage,
  stewardEventSchema,
} from '@steward/core';
import { guarded } from './pg-errors.ts';
import type { Db } from './postgres-storage.ts';

/**
 * @internal `appendEvents` and `listEvents` in Postgres. An append is one transaction under the
 * run's row lock, so writers of one run are serialized across every instance. It is idempotent: a
 * batch resent after a lost reply overlaps what is stored; the overlap must match it exactly
 * (jsonb equality) and only the rest is inserted.
 */
export function createPostgresRunEvents(db: Db): Pick<Storage, 'appendEvents' | 'listEvents'> {
  const t = db.table;
  return {
    appendEvents: (runId, events: readonly StewardEvent[], fence) =>
      guarded('Storing run events', async () => {
        checkStorable(events, 'events');
        await db.transaction(async (client) => {
          // The row lock also holds the run's epoch still: a claim waits for this append, or this
          // append sees the claim and is refused (a fenced write never lands after a takeover).
          const locked = await client.query<{ epoch: number }>(
            `SELECT epoch FROM ${t('runs')} WHERE id = $1 FOR UPDATE`,
            [runId],
          );
          const run = locked.rows[0];
          if (run === undefined) throw new StewardError('not_found', `Run ${runId} does not exist`);
          checkRunFence(runId, fence, run.epoch);
          const last =
            (
              await client.query<{ seq: number }>(
                `SELECT coalesce(max(seq), 0) AS seq FROM ${t('run_events')} WHERE run_id = $1`,
                [runId],
              )
            ).rows[0]?.seq ?? 0;
          if (events.length === 0) return;
          const first = (events[0] as StewardEvent).seq;
          // A batch may start anywhere in what is stored (a resend), and must go on from there.
          const broken =
            first < 1 || first > last + 1
              ? 0
              : events.findIndex((event, index) => event.run_id !== runId || event.seq !== first + index);
          if (broken !== -1) {
            const event = events[broken] as StewardEvent;
            const previous = broken === 0 ? last : first + broken - 1;
            throw new StewardError(
              'storage_error',
              `Event seq ${event.seq} of run ${event.run_id} does not follow seq ${previous} of run ${runId}`,
              { details: { lastSeq: last } },
            );
          }
          const json = events.map((event) => JSON.stringify(event));
          const stored = Math.min(events.length, last - first + 1);
          if (stored > 0) {
            const conflict = await client.query<{ seq: number }>(
              `SELECT batch.seq FROM unnest($2::integer[], $3::text[]) AS batch (seq, event)
               LEFT JOIN ${t('run_events')} e ON e.run_id = $1 AND e.seq = batch.seq
               WHERE e.event IS DISTINCT FROM batch.event::jsonb ORDER BY batch.seq LIMIT 1`,
              [runId, events.slice(0, stored).map((event) => event.seq), json.slice(0, stored)],
            );
            const conflictSeq = conflict.rows[0]?.seq;
            if (conflictSeq !== undefined) {
              throw new StewardError(
                'storage_error',
                `Event seq ${conflictSeq} of run ${runId} is already stored with other content`,
                { details: { conflictSeq, lastSeq: last } },
              );
            }
          }
          if (stored === events.length) return;
          await client.query(
            `INSERT INTO ${t('run_events')} (run_id, seq, event) SELECT $1, seq, event::jsonb FROM unnest($2::integer[], $3::text[]) AS batch (seq, event)`,
            [runId, events.slice(stored).map((event) => event.seq), json.slice(stored)],
          );
        });
      }),
    listEvents: (runId, scope) =>
      guarded('Reading run events', async () => {
        checkEventPage(scope);
        // The owner check is one primary-key probe of runs; the page is a range scan of the
        // run_events primary key (run_id, seq) in order, stopped after `limit` rows.
        const result = await db.query<{ event: unknown }>(
          `SELECT e.event FROM ${t('run_events')} e
           WHERE e.run_id = $1 AND e.seq > $3
             AND EXISTS (SELECT 1 FROM ${t('runs')} r WHERE r.id = $1 AND r.user_id = $2)
           ORDER BY e.seq LIMIT $4`,
          [runId, scope.userId, scope.afterSeq ?? 0, scope.limit ?? null],
        );
        return result.rows.map((row) => {
          const parsed = stewardEventSchema.safeParse(row.event);
          if (!parsed.success) {
            throw new StewardError('storage_error', `A stored event of run ${runId} is malformed`, {
              cause: parsed.error,
            });
          }
          return parsed.data as StewardEvent;
        });
      }),
  };
}
