import { z } from 'zod';

const fetchedSchema = z.object({
  messages: z.array(
    z.object({ subject: z.string(), sender: z.string(), messageTimestamp: z.string() }).loose(),
  ),
  resultSizeEstimate: z.number().optional(),
});
const sentSchema = z.object({ id: z.string(), labelIds: z.array(z.string()) });
const errorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

/** One line per fetched email, or one line for anything else: what a tool card shows. */
export function summarizeToolResult(result: unknown): string[] {
  const fetched = fetchedSchema.safeParse(result);
  if (fetched.success) {
    const { messages, resultSizeEstimate } = fetched.data;
    return [
      `${messages.length} of ${resultSizeEstimate ?? messages.length} emails`,
      ...messages.map((message) => `${message.subject} (from ${message.sender})`),
    ];
  }
  const sent = sentSchema.safeParse(result);
  if (sent.success) return [`sent: message ${sent.data.id} (${sent.data.labelIds.join(', ')})`];
  const failed = errorSchema.safeParse(result);
  if (failed.success) return [`${failed.data.error.code}: ${failed.data.error.message}`];
  const text = typeof result === 'string' ? result : JSON.stringify(result);
  return [text.length > 300 ? `${text.slice(0, 300)}…` : text];
}

/** The stored tool message's structured result, or its text read back as JSON when it has none. */
export function toolMessageResult(message: { content: string; result?: unknown }): unknown {
  if (message.result !== undefined) return message.result;
  try {
    return JSON.parse(message.content) as unknown;
  } catch {
    return message.content;
  }
}
