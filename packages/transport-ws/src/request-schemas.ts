import { safeIdSchema, safeTextSchema } from '@steward/core';
import { z } from 'zod';
import { HttpError } from './http-error.ts';

/**
 * Ids a request names (sessions, runs, calls, tools): opaque, but never a control character,
 * a space or an invisible character (core's `safeIdSchema`). NUL would reach the database.
 */
export const idSchema = safeIdSchema.min(1).max(256);

/** @internal */
export const respondSchema = z
  .object({
    session_id: idSchema.optional(),
    input: safeTextSchema.trim().min(1, 'must not be empty').max(200_000),
    options: z
      .object({
        max_output_tokens: z.number().int().positive().max(1_000_000).optional(),
        tool_overrides: z
          .object({
            allow: z.array(idSchema).max(1_000).optional(),
            deny: z.array(idSchema).max(1_000).optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** `POST /api/v1/respond`'s body, as the architecture document gives it. */
export interface RespondBody {
  session_id?: string;
  input: string;
  options?: {
    max_output_tokens?: number;
    tool_overrides?: { allow?: string[]; deny?: string[] };
  };
}

// The schema and the documented type must agree.
const _respond: (value: RespondBody) => z.input<typeof respondSchema> = (value) => value;
void _respond;

/** @internal A seq from a header or query string. */
export const seqSchema = z.coerce.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/**
 * @internal Parses `value`, or throws a 400 naming every problem with its field (`field` prefixes
 * the paths of a value that is not a body: a query parameter, a path segment, a header).
 */
export function validate<T>(schema: z.ZodType<T>, value: unknown, field?: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => ({
    path: field === undefined ? issue.path.join('.') : [field, ...issue.path].join('.'),
    message: issue.message,
    code: issue.code,
  }));
  throw new HttpError(
    400,
    'invalid_request',
    `Invalid request: ${issues.map((issue) => `${issue.path || '(body)'}: ${issue.message}`).join('; ')}`,
    { details: { issues } },
  );
}
