import type { MockReply, MockRequest } from '@steward/testing';
import { z } from 'zod';

// What the script reads of a Chat Completions request.
const requestSchema = z
  .object({
    messages: z.array(
      z
        .object({
          role: z.string(),
          content: z.union([z.string(), z.array(z.unknown()), z.null()]).optional(),
        })
        .loose(),
    ),
    tools: z.array(z.object({ function: z.object({ name: z.string() }).loose() }).loose()).optional(),
  })
  .loose();

const textOf = (content: unknown) => (typeof content === 'string' ? content : '');

/** The name the model is offered for a Gmail tool (`gmail__GMAIL_SEND_EMAIL`), whatever prefix the registry chose. */
const offered = (tools: readonly { function: { name: string } }[] | undefined, slug: string) =>
  tools?.find((tool) => tool.function.name === slug || tool.function.name.endsWith(`__${slug}`))?.function
    .name;

/**
 * The demo's stand-in for a model (the mock OpenAI server's reply handler), offline and
 * deterministic: "What's in my inbox?" fetches the newest emails, "Send an email to … saying …"
 * asks to send one (the user approves first), "count N" streams N words (for watching a long
 * answer stream, stop, reload and reconnect), and after a tool result it answers from that result.
 */
export function demoModelReply(request: MockRequest): MockReply {
  const parsed = requestSchema.safeParse(request.body);
  if (!parsed.success) return { text: 'This demo model speaks the Chat Completions API only.' };
  const { messages, tools } = parsed.data;
  const last = messages.at(-1);
  if (last?.role === 'tool') return answerFromTool(textOf(last.content));
  const question = textOf(last?.content);

  const count = /^count (\d{1,4})$/i.exec(question.trim());
  if (count !== null)
    return {
      deltas: Array.from(
        { length: Number(count[1]) },
        (_, index) => `${index === 0 ? '' : ' '}w${index + 1}`,
      ),
    };

  const send = offered(tools, 'GMAIL_SEND_EMAIL');
  const to = /[^@\s<>"',;]+@[^@\s<>"',;]+\.[a-z]{2,}/i.exec(question)?.[0];
  if (/\bsend\b/i.test(question) && to !== undefined && send !== undefined) {
    const body = /\bsaying\s+(.+)$/is.exec(question)?.[1]?.trim() ?? 'Hello from Steward!';
    return {
      text: `I'll send that to ${to}; it needs your approval first.`,
      toolCalls: [{ name: send, arguments: { user_id: 'me', to, subject: body.slice(0, 60), body } }],
    };
  }
  const fetchEmails = offered(tools, 'GMAIL_FETCH_EMAILS');
  if (/\b(inbox|e-?mails?|mail)\b/i.test(question) && fetchEmails !== undefined)
    return {
      text: 'Let me look at your inbox.',
      toolCalls: [{ name: fetchEmails, arguments: { user_id: 'me', max_results: 3, label_ids: ['INBOX'] } }],
    };
  return {
    text: `I'm the demo's scripted model: ask "What's in my inbox?", "Send an email to ada@engine.example saying hello", or "count 50". You said: ${question}`,
  };
}

const failedSchema = z.object({ error: z.object({ code: z.string() }) });
const fetchedSchema = z.object({ messages: z.array(z.object({ subject: z.string(), sender: z.string() })) });
const sentSchema = z.object({ id: z.string() });

function answerFromTool(output: string): MockReply {
  let value: unknown;
  try {
    value = JSON.parse(output);
  } catch {
    value = undefined;
  }
  const failed = failedSchema.safeParse(value);
  if (failed.success)
    return failed.data.error.code === 'tool_denied'
      ? { text: 'Understood: I did not send it.' }
      : { text: `The tool failed (${failed.data.error.code}).` };
  const fetched = fetchedSchema.safeParse(value);
  if (fetched.success)
    return {
      text: `Your newest emails: ${fetched.data.messages.map((email) => `"${email.subject}" from ${email.sender}`).join('; ')}.`,
    };
  const sent = sentSchema.safeParse(value);
  if (sent.success) return { text: `Done: the email is sent (message id ${sent.data.id}).` };
  return { text: `The tool answered: ${output.slice(0, 300)}` };
}
