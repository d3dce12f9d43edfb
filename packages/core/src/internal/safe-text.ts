import { z } from 'zod';

// Cc is C0, DEL and C1; of those, free text keeps tab, line feed and carriage return. NUL cannot
// be stored in PostgreSQL text at all, and the others have no business in a message: they hide
// text in logs and terminals.
const controlInText = /(?![\t\n\r])\p{Cc}/u;
// Ids allow no control, no space or separator of any kind, and no invisible format character
// (zero-width, bidi overrides): two ids that look alike must be alike.
const unsafeInId = /[\p{Cc}\p{Cf}\p{Z}\s]/u;
// With the u flag a well-formed pair is one code point, so this finds lone surrogates only.
const loneSurrogate = /\p{Cs}/u;

const codePoint = (character: string) =>
  `U+${(character.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * Why `value` is not acceptable text (free text when `kind` is `'text'`, an id when `'id'`), or
 * `undefined` when it is. The reason names the first offending character and where it is.
 */
export function unsafeTextReason(value: string, kind: 'text' | 'id'): string | undefined {
  const surrogate = loneSurrogate.exec(value);
  const control = (kind === 'text' ? controlInText : unsafeInId).exec(value);
  const first = [surrogate, control].filter((match) => match !== null).sort((a, b) => a.index - b.index)[0];
  if (first === undefined) return undefined;
  const what =
    first === surrogate
      ? 'a lone surrogate (not well-formed Unicode)'
      : kind === 'text'
        ? 'a control character'
        : 'a control, space or invisible character';
  return `must not contain ${what}: ${codePoint(first[0])} at index ${first.index}`;
}

const refined = (kind: 'text' | 'id') =>
  z.string().superRefine((value, context) => {
    const reason = unsafeTextReason(value, kind);
    if (reason !== undefined) context.addIssue({ code: 'custom', message: reason });
  });

/**
 * Free text a person writes (a message, a reason): any Unicode but NUL and the other C0 controls
 * (tab, line feed and carriage return are allowed), DEL, C1 controls and lone surrogates. Chain
 * lengths onto it: `safeTextSchema.trim().min(1).max(2_000)`.
 */
export const safeTextSchema: z.ZodString = refined('text');

/**
 * An id (user, session, run, call, tool name): stricter than {@link safeTextSchema}, it also
 * refuses tab and line breaks, every space and separator, and invisible format characters.
 */
export const safeIdSchema: z.ZodString = refined('id');
