import type { z } from 'zod';
import { StewardError } from '../errors/steward-error.ts';

/** @internal Parses options at a public boundary, turning zod issues into a typed `invalid_options` error. */
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
