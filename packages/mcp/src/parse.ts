import { StewardError } from '@steward/core';
import { z } from 'zod';

/** @internal Parses input at a public boundary into a typed error carrying every zod issue. */
export function parseOrThrow<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
  where: string,
  code: 'invalid_options' | 'invalid_input' = 'invalid_options',
): z.output<Schema> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new StewardError(code, `${where}: ${z.prettifyError(parsed.error)}`, {
    details: { issues: parsed.error.issues },
  });
}
