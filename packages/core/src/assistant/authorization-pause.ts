import { z } from 'zod';
import { StewardError } from '../errors/steward-error.ts';
import { toStorableText } from '../internal/storable-text.ts';
import type { ToolCall, ToolMessage } from '../model/message.ts';
import type { ApprovalRecord } from '../storage/consent-records.ts';
import type { PendingCall, ToolExecutionContext } from './tool-execution.ts';
import { errorMessage, resultMessage } from './tool-invoke.ts';

/** @internal What a provider's `authorization_required` asks of the run's user. */
export interface AuthorizationNeed {
  readonly server: string;
  readonly authorizationUrl: string;
  readonly expiresAt: string;
  readonly scopes?: readonly string[];
}

/** @internal A call the provider refused until the user connects its server. */
export interface AuthorizationPause {
  readonly pause: PendingCall;
  readonly need: AuthorizationNeed;
}

// A provider's details are checked before they reach storage, an event or a UI: a URL the user
// is sent to must be http(s), never `javascript:` or the like.
const needSchema = z.object({
  server: z.string().min(1).max(256),
  authorizationUrl: z.url({ protocol: /^https?$/ }).max(8_192),
  expiresAt: z.iso.datetime({ offset: true }),
  scopes: z.array(z.string().max(512)).max(100).optional(),
});

/**
 * @internal The authorization a failed call waits for, when the provider refused it with
 * `authorization_required` and well-formed details; otherwise `undefined` (the call fails).
 */
export function authorizationNeedOf(error: unknown): AuthorizationNeed | undefined {
  if (!StewardError.isInstance(error) || error.code !== 'authorization_required') return undefined;
  const parsed = needSchema.safeParse(error.details);
  if (!parsed.success) return undefined;
  const { server, authorizationUrl, expiresAt, scopes } = parsed.data;
  return {
    server: toStorableText(server),
    authorizationUrl,
    expiresAt: new Date(expiresAt).toISOString(),
    ...(scopes === undefined ? {} : { scopes: scopes.map(toStorableText) }),
  };
}

/**
 * @internal Records the call's wait for the user to connect its server (a durable approval of
 * kind `authorization`, so any instance can resume the run), audits it and emits
 * `authorization_required`. Resolves false when it could not be recorded (e.g. the call already
 * waited for an authorization once): the call then fails instead of pausing.
 */
export async function requestAuthorization(
  context: ToolExecutionContext,
  { pause, need }: AuthorizationPause,
): Promise<boolean> {
  const now = new Date(context.now());
  const { call, argsHash, args } = pause;
  try {
    await context.storage.createApproval({
      callId: call.callId,
      kind: 'authorization',
      runId: context.runId,
      sessionId: context.sessionId,
      userId: context.userId,
      toolName: call.name,
      argsHash,
      args,
      status: 'pending',
      createdAt: now.toISOString(),
      expiresAt: need.expiresAt,
      server: need.server,
      authorizationUrl: need.authorizationUrl,
      ...(need.scopes === undefined ? {} : { scopes: need.scopes }),
    });
    await context.storage.appendAudit({
      at: now.toISOString(),
      action: 'authorization_requested',
      userId: context.userId,
      actor: 'steward',
      runId: context.runId,
      callId: call.callId,
      toolName: call.name,
      argsHash,
      detail: need.server,
    });
  } catch {
    return false;
  }
  context.emit({
    type: 'authorization_required',
    call_id: call.callId,
    tool_slug: call.name,
    server: need.server,
    authorization_url: need.authorizationUrl,
    expires_at: need.expiresAt,
    ...(need.scopes === undefined ? {} : { scopes: need.scopes }),
  });
  return true;
}

/**
 * @internal Picks up how a call's authorization ended: `connected` lets the call run (the caller
 * runs it), `declined` or `expired` answers the model with `tool_authorization_declined`. A wait
 * past its deadline is expired here, once.
 */
export async function resolveAuthorization(
  context: ToolExecutionContext,
  item: Pick<PendingCall, 'call' | 'argsHash'>,
  record: ApprovalRecord,
): Promise<'connected' | ToolMessage> {
  const { call } = item;
  let current = record;
  if (current.status === 'pending' && Date.parse(current.expiresAt) <= context.now()) {
    const expired = await context.storage.transitionApproval(
      call.callId,
      'pending',
      { status: 'expired' },
      'authorization',
    );
    if (expired !== undefined) {
      current = expired;
      await context.storage.appendAudit({
        at: new Date(context.now()).toISOString(),
        action: 'authorization_expired',
        userId: context.userId,
        actor: 'steward',
        runId: context.runId,
        callId: call.callId,
        toolName: call.name,
        argsHash: item.argsHash,
      });
    }
  }
  const outcome =
    current.status === 'approved' || current.status === 'used'
      ? 'connected'
      : current.status === 'denied'
        ? 'declined'
        : 'expired';
  const server = current.server ?? call.name;
  context.emit({
    type: 'authorization_resolved',
    call_id: call.callId,
    tool_slug: call.name,
    server,
    outcome,
  });
  if (outcome === 'connected') return 'connected';
  const why = outcome === 'declined' ? 'did not connect' : 'did not connect in time';
  return errorMessage(
    context,
    call,
    new StewardError('tool_authorization_declined', `The user ${why} ${server}; ${call.name} did not run`),
    0,
  );
}

/**
 * @internal A waiting call whose tool the run no longer offers after a resume, e.g. a server's
 * "connect" tool, listed only until the user connects: when the call waited for that
 * authorization, its end is the call's answer (`{ connected: true, server }`, the authorization
 * used up once), or `tool_authorization_declined`. `undefined` when it waited for none.
 */
export async function answerVanishedCall(
  context: ToolExecutionContext,
  call: ToolCall,
): Promise<ToolMessage | undefined> {
  const record = await context.storage.getApproval(call.callId, {
    userId: context.userId,
    kind: 'authorization',
  });
  if (record === undefined || record.status === 'used') return undefined;
  const resolved = await resolveAuthorization(context, { call, argsHash: record.argsHash }, record);
  if (resolved !== 'connected') return resolved;
  const used = await context.storage.transitionApproval(
    call.callId,
    'approved',
    { status: 'used' },
    'authorization',
  );
  if (used === undefined) return undefined;
  return resultMessage(context, call, { connected: true, server: record.server ?? call.name }, 0);
}
