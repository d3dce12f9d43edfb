import { z } from 'zod';
import type { StewardErrorCode } from '../errors/error-codes.ts';
import { requestedSchemaSchema } from '../tools/input-request.ts';
import type { StewardEvent } from './stream-event.ts';
import { usageSchema } from './usage.ts';

const base = {
  run_id: z.string().min(1),
  seq: z.number().int().positive(),
  timestamp: z.iso.datetime(),
};

// The code list lives in a type; the schema accepts any code string so old clients keep parsing
// frames from newer servers that added codes.
const errorCode = z.string().min(1) as unknown as z.ZodType<StewardErrorCode>;

const toolErrorPayloadSchema = z.object({
  code: errorCode,
  message: z.string(),
  details: z.record(z.string(), z.unknown()).exactOptional(),
});

/**
 * Validates one {@link StewardEvent}, e.g. a frame a transport received. Unknown `type`s fail.
 *
 * @example
 * ```ts
 * const parsed = stewardEventSchema.safeParse(JSON.parse(frame));
 * if (parsed.success && parsed.data.type === 'token') render(parsed.data.text);
 * ```
 */
export const stewardEventSchema = z.discriminatedUnion('type', [
  z.object({ ...base, type: z.literal('run_started'), session_id: z.string(), user_id: z.string() }),
  z.object({ ...base, type: z.literal('token'), text: z.string() }),
  z.object({
    ...base,
    type: z.literal('tool_request'),
    call_id: z.string(),
    tool_slug: z.string(),
    args: z.unknown(),
    require_confirmation: z.boolean(),
    tool_title: z.string().exactOptional(),
    annotations: z
      .object({
        title: z.string().optional(),
        readOnlyHint: z.boolean().optional(),
        destructiveHint: z.boolean().optional(),
        idempotentHint: z.boolean().optional(),
        openWorldHint: z.boolean().optional(),
      })
      .exactOptional(),
  }),
  z.object({
    ...base,
    type: z.literal('approval_required'),
    call_id: z.string(),
    tool_slug: z.string(),
    args: z.unknown(),
    args_hash: z.string(),
    expires_at: z.iso.datetime(),
    reason: z.string(),
  }),
  z.object({
    ...base,
    type: z.literal('approval_resolved'),
    call_id: z.string(),
    tool_slug: z.string(),
    decision: z.enum(['approved', 'denied', 'expired']),
    decided_by: z.string().exactOptional(),
    reason: z.string().exactOptional(),
  }),
  z.object({
    ...base,
    type: z.literal('tool_progress'),
    call_id: z.string(),
    tool_slug: z.string(),
    progress: z.number(),
    total: z.number().exactOptional(),
    message: z.string().exactOptional(),
  }),
  z.object({
    ...base,
    type: z.literal('tool_result'),
    call_id: z.string(),
    tool_slug: z.string(),
    result: z.unknown().exactOptional(),
    error: toolErrorPayloadSchema.exactOptional(),
    resource_links: z
      .array(
        z.object({
          uri: z.string(),
          name: z.string(),
          title: z.string().exactOptional(),
          description: z.string().exactOptional(),
          mime_type: z.string().exactOptional(),
        }),
      )
      .exactOptional(),
    duration_ms: z.number().nonnegative(),
  }),
  z.object({
    ...base,
    type: z.literal('input_required'),
    request_id: z.string(),
    call_id: z.string(),
    tool_slug: z.string(),
    server: z.string(),
    message: z.string(),
    mode: z.enum(['form', 'url']),
    requested_schema: requestedSchemaSchema.exactOptional(),
    url: z.string().exactOptional(),
    expires_at: z.iso.datetime(),
  }),
  z.object({
    ...base,
    type: z.literal('input_resolved'),
    request_id: z.string(),
    call_id: z.string(),
    action: z.enum(['accept', 'decline', 'cancel']),
  }),
  z.object({
    ...base,
    type: z.literal('authorization_required'),
    call_id: z.string(),
    tool_slug: z.string(),
    server: z.string(),
    authorization_url: z.string(),
    expires_at: z.iso.datetime(),
    scopes: z.array(z.string()).exactOptional(),
  }),
  z.object({
    ...base,
    type: z.literal('authorization_resolved'),
    call_id: z.string(),
    tool_slug: z.string(),
    server: z.string(),
    outcome: z.enum(['connected', 'declined', 'expired']),
  }),
  z.object({
    ...base,
    ...usageSchema.shape,
    type: z.literal('usage'),
    step: z.number().int(),
    total: usageSchema,
  }),
  z.object({
    ...base,
    type: z.literal('error'),
    code: errorCode,
    message: z.string(),
    retryable: z.boolean(),
  }),
  z.object({
    ...base,
    type: z.literal('final'),
    text: z.string(),
    usage: usageSchema,
    stop_reason: z.enum([
      'stop',
      'length',
      'content_filter',
      'max_steps',
      'aborted',
      'timeout',
      'stalled',
      'interrupted',
      'error',
    ]),
    partial: z.boolean(),
  }),
]) satisfies z.ZodType<StewardEvent, unknown>;
