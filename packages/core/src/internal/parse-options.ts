import type { z } from 'zod';
import { StewardError } from '../errors/steward-error.ts';

/**
 * Parses input at a public boundary with a zod schema, turning its issues into a typed
 * `invalid_options` (or `invalid_input`) {@link StewardError} with `details.issues`. For adapter
 * authors: every Steward factory checks its options this way.
 */
export function parseOptions<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
  where: string,
  code: 'invalid_options' | 'invalid_input' = 'invalid_options',
): z.output<Schema> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const summary = parsed.error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
  throw new StewardError(
    code,
    `${where}: ${code === 'invalid_input' ? 'invalid input' : 'invalid options'}: ${summary}`,
    {
      details: { issues: parsed.error.issues },
    },
  );
}
