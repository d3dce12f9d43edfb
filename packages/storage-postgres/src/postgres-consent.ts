import {
  type ApprovalRecord,
  type AuditEntry,
  type ConsentStore,
  checkStorable,
  type ExecutionRecord,
  StewardError,
  type ToolPermission,
} from '@steward/core';
import { guarded } from './pg-errors.ts';
import type { Db } from './postgres-storage.ts';

const iso = (value: Date | string | null) => (value === null ? undefined : new Date(value).toISOString());

function toApproval(row: Record<string, unknown>): ApprovalRecord {
  return {
    callId: row.call_id as string,
    kind: row.kind as ApprovalRecord['kind'],
    runId: row.run_id as string,
    sessionId: row.session_id as string,
    userId: row.user_id as string,
    toolName: row.tool_name as string,
    argsHash: row.args_hash as string,
    args: row.args,
    status: row.status as ApprovalRecord['status'],
    createdAt: iso(row.created_at as Date) as string,
    expiresAt: iso(row.expires_at as Date) as string,
    ...(row.decided_at === null ? {} : { decidedAt: iso(row.decided_at as Date) as string }),
    ...(row.decided_by === null ? {} : { decidedBy: row.decided_by as string }),
    ...(row.reason === null ? {} : { reason: row.reason as string }),
    ...(row.server === null ? {} : { server: row.server as string }),
    ...(row.authorization_url === null ? {} : { authorizationUrl: row.authorization_url as string }),
    ...(row.scopes === null ? {} : { scopes: row.scopes as string[] }),
  };
}

function toExecution(row: Record<string, unknown>): ExecutionRecord {
  return {
    key: row.key as string,
    runId: row.run_id as string,
    callId: row.call_id as string,
    toolName: row.tool_name as string,
    argsHash: row.args_hash as string,
    status: row.status as ExecutionRecord['status'],
    startedAt: iso(row.started_at as Date) as string,
    ...(row.finished_at === null ? {} : { finishedAt: iso(row.finished_at as Date) as string }),
    ...(row.result === null ? {} : { result: row.result }),
    ...(row.error === null ? {} : { error: row.error as NonNullable<ExecutionRecord['error']> }),
  };
}

function toAudit(row: Record<string, unknown>): AuditEntry {
  const optional = (key: string, field: keyof AuditEntry) =>
    row[key] === null ? {} : { [field]: row[key] as string };
  return {
    at: iso(row.at as Date) as string,
    action: row.action as AuditEntry['action'],
    userId: row.user_id as string,
    actor: row.actor as string,
    ...optional('run_id', 'runId'),
    ...optional('call_id', 'callId'),
    ...optional('tool_name', 'toolName'),
    ...optional('args_hash', 'argsHash'),
    ...optional('detail', 'detail'),
  };
}

/**
 * @internal Approvals, the execution ledger, the audit log and tool permissions in Postgres.
 * Every check-and-set is one statement (`UPDATE … WHERE status = …`, `INSERT … ON CONFLICT DO
 * NOTHING`), so racing instances cannot both win.
 */
export function createPostgresConsent(db: Db): ConsentStore {
  const t = db.table;
  return {
    createApproval: (approval) =>
      guarded('Recording the approval', async () => {
        checkStorable(approval, 'approval');
        await db.query(
          `INSERT INTO ${t('approvals')} (call_id, run_id, session_id, user_id, tool_name, args_hash, args, status, created_at, expires_at,
             kind, server, authorization_url, scopes)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
          [
            approval.callId,
            approval.runId,
            approval.sessionId,
            approval.userId,
            approval.toolName,
            approval.argsHash,
            JSON.stringify(approval.args ?? null),
            approval.status,
            approval.createdAt,
            approval.expiresAt,
            approval.kind,
            approval.server ?? null,
            approval.authorizationUrl ?? null,
            approval.scopes === undefined ? null : JSON.stringify(approval.scopes),
          ],
        );
      }),
    getApproval: (callId, scope) =>
      guarded('Reading the approval', async () => {
        const row = (
          await db.query(
            `SELECT * FROM ${t('approvals')} WHERE call_id = $1 AND user_id = $2 AND kind = $3`,
            [callId, scope.userId, scope.kind ?? 'consent'],
          )
        ).rows[0];
        return row === undefined ? undefined : toApproval(row);
      }),
    transitionApproval: (callId, from, update, kind = 'consent') =>
      guarded('Deciding the approval', async () => {
        checkStorable({ callId, ...update }, 'approval');
        const row = (
          await db.query(
            `UPDATE ${t('approvals')} SET status = $3, decided_at = coalesce($4, decided_at), decided_by = coalesce($5, decided_by), reason = coalesce($6, reason)
             WHERE call_id = $1 AND status = $2 AND kind = $7 RETURNING *`,
            [
              callId,
              from,
              update.status,
              update.decidedAt ?? null,
              update.decidedBy ?? null,
              update.reason ?? null,
              kind,
            ],
          )
        ).rows[0];
        return row === undefined ? undefined : toApproval(row);
      }),
    listApprovals: (runId, scope) =>
      guarded('Reading approvals', async () =>
        (
          await db.query(
            `SELECT * FROM ${t('approvals')} WHERE run_id = $1 AND user_id = $2 ORDER BY created_at, call_id`,
            [runId, scope.userId],
          )
        ).rows.map(toApproval),
      ),
    beginExecution: (record) =>
      guarded('Starting the execution', async () => {
        checkStorable(record, 'execution');
        const inserted = await db.query(
          `INSERT INTO ${t('executions')} (key, run_id, call_id, tool_name, args_hash, status, started_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (key) DO NOTHING RETURNING key`,
          [
            record.key,
            record.runId,
            record.callId,
            record.toolName,
            record.argsHash,
            record.status,
            record.startedAt,
          ],
        );
        if (inserted.rowCount === 1) return undefined;
        const row = (await db.query(`SELECT * FROM ${t('executions')} WHERE key = $1`, [record.key])).rows[0];
        return row === undefined ? undefined : toExecution(row);
      }),
    finishExecution: (key, outcome) =>
      guarded('Recording how the execution ended', async () => {
        checkStorable({ key, ...outcome }, 'execution');
        const result = await db.query(
          `UPDATE ${t('executions')} SET status = $2, finished_at = $3, result = $4::jsonb, error = $5::jsonb WHERE key = $1`,
          [
            key,
            outcome.status,
            outcome.finishedAt ?? new Date().toISOString(),
            outcome.result === undefined ? null : JSON.stringify(outcome.result),
            outcome.error === undefined ? null : JSON.stringify(outcome.error),
          ],
        );
        if (result.rowCount === 0) throw new StewardError('not_found', `No execution ${key} was started`);
      }),
    appendAudit: (entry) =>
      guarded('Writing the audit log', async () => {
        checkStorable(entry, 'audit');
        await db.query(
          `INSERT INTO ${t('audit_log')} (at, action, user_id, actor, run_id, call_id, tool_name, args_hash, detail)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
          [
            entry.at,
            entry.action,
            entry.userId,
            entry.actor,
            entry.runId ?? null,
            entry.callId ?? null,
            entry.toolName ?? null,
            entry.argsHash ?? null,
            entry.detail ?? null,
          ],
        );
      }),
    listAudit: (scope) =>
      guarded('Reading the audit log', async () =>
        (
          await db.query(
            `SELECT * FROM ${t('audit_log')} WHERE user_id = $1 AND ($2::text IS NULL OR run_id = $2) ORDER BY id`,
            [scope.userId, scope.runId ?? null],
          )
        ).rows.map(toAudit),
      ),
    grantToolPermission: (permission) =>
      guarded('Granting the permission', async () => {
        checkStorable(permission, 'permission');
        await db.query(
          `INSERT INTO ${t('tool_permissions')} (user_id, tool_name, session_id, granted_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (user_id, tool_name, session_id) DO NOTHING`,
          [permission.userId, permission.toolName, permission.sessionId ?? '', permission.grantedAt],
        );
      }),
    revokeToolPermission: (permission) =>
      guarded('Revoking the permission', async () => {
        const result = await db.query(
          `DELETE FROM ${t('tool_permissions')} WHERE user_id = $1 AND tool_name = $2 AND session_id = $3`,
          [permission.userId, permission.toolName, permission.sessionId ?? ''],
        );
        return (result.rowCount ?? 0) > 0;
      }),
    listToolPermissions: (scope) =>
      guarded('Reading permissions', async () =>
        (
          await db.query(
            `SELECT * FROM ${t('tool_permissions')} WHERE user_id = $1 ORDER BY granted_at, tool_name`,
            [scope.userId],
          )
        ).rows.map(
          (row): ToolPermission => ({
            userId: row.user_id,
            toolName: row.tool_name,
            ...(row.session_id === '' ? {} : { sessionId: row.session_id }),
            grantedAt: iso(row.granted_at) as string,
          }),
        ),
      ),
  };
}
