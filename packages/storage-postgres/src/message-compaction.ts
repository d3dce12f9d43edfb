import { StewardError, type Storage } from '@steward/core';
import { guarded } from './pg-errors.ts';
import type { Db } from './postgres-storage.ts';
import { storableMessageJson, toStoredMessage } from './stored-messages.ts';

/** Message ids are bigserials; anything else names no message (and must not reach a bigint cast). */
const messageIdPattern = /^[0-9]{1,18}$/;

/** @internal `Storage.compactMessages` in Postgres: one transaction, the summary in the place of the last replaced message. */
export function createPostgresCompaction(db: Db, maxMessageBytes: number): Pick<Storage, 'compactMessages'> {
  const t = db.table;
  return {
    compactMessages: (sessionId, scope, { throughMessageId, runId, summary }) =>
      guarded('Compacting messages', async () => {
        const json = storableMessageJson(summary, maxMessageBytes);
        return db.transaction(async (tx) => {
          // FOR UPDATE conflicts with the key-share lock the foreign key check of an append in
          // flight holds on this row: it waits for those appends and holds new ones off until
          // commit, so nothing lands between the summary and the messages it keeps.
          const session = (
            await tx.query<{ user_id: string }>(
              `SELECT user_id FROM ${t('sessions')} WHERE id = $1 FOR UPDATE`,
              [sessionId],
            )
          ).rows[0];
          if (session?.user_id !== scope.userId) {
            throw new StewardError('session_not_found', `Session ${sessionId} does not exist`);
          }
          const replaced = messageIdPattern.test(throughMessageId)
            ? (
                await tx.query(
                  `UPDATE ${t('messages')} SET run_id = $3, message = $4::jsonb WHERE session_id = $1 AND id = $2
                   RETURNING id, session_id, run_id, created_at, message`,
                  [sessionId, throughMessageId, runId, json],
                )
              ).rows[0]
            : undefined;
          if (replaced === undefined) {
            throw new StewardError('not_found', `Message ${throughMessageId} is not in session ${sessionId}`);
          }
          const older = await tx.query(`DELETE FROM ${t('messages')} WHERE session_id = $1 AND id < $2`, [
            sessionId,
            throughMessageId,
          ]);
          return { summary: toStoredMessage(replaced), replaced: older.rowCount + 1 };
        });
      }),
  };
}
