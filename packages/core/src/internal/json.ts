import { StewardError } from '../errors/steward-error.ts';
import { cutText, toStorableValue } from './storable-text.ts';

/**
 * @internal Parses a model's tool-call arguments. The result is untrusted `unknown`: the tool
 * provider validates it against the tool's schema before anything runs. A `\u0000` or lone
 * surrogate escape in the JSON becomes U+FFFD, as in streamed text: the tool, the events and the
 * approval all see arguments every storage keeps, and a resumed run parses them to the same.
 */
export function parseToolArguments(text: string, toolName: string): unknown {
  if (text.trim() === '') return {};
  try {
    return toStorableValue(JSON.parse(text));
  } catch (error) {
    throw new StewardError('tool_invalid_arguments', `Arguments for ${toolName} are not valid JSON`, {
      cause: error,
      details: { arguments: cutText(text, 2_000) },
    });
  }
}

/** @internal Renders a tool result as the text the model reads, bounded to `maxChars`. */
export function renderToolContent(value: unknown, maxChars: number): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? 'null');
  if (text.length <= maxChars) return text;
  return `${cutText(text, maxChars)}… [truncated ${text.length - maxChars} of ${text.length} characters]`;
}
