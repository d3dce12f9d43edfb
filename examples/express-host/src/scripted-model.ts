import type { MockReply, MockRequest } from '@steward/testing';
import { z } from 'zod';

// The parts of a Chat Completions request the script reads; anything else passes through.
const chatRequestSchema = z
  .object({
    messages: z.array(
      z
        .object({
          role: z.string(),
          content: z.union([z.string(), z.array(z.unknown()), z.null()]).optional(),
          tool_call_id: z.string().optional(),
          tool_calls: z
            .array(z.object({ id: z.string(), function: z.object({ name: z.string() }).loose() }).loose())
            .optional(),
        })
        .loose(),
    ),
    tools: z.array(z.object({ function: z.object({ name: z.string() }).loose() }).loose()).optional(),
  })
  .loose();

type ChatMessage = z.infer<typeof chatRequestSchema>['messages'][number];

const fetchedSchema = z.object({
  messages: z.array(
    z.object({ subject: z.string(), sender: z.string(), messageTimestamp: z.string(), snippet: z.string() }),
  ),
  resultSizeEstimate: z.number().optional(),
});
const sentSchema = z.object({ id: z.string() });
const toolErrorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
const connectedSchema = z.object({ connected: z.literal(true), server: z.string() });

const text = (message: ChatMessage | undefined) =>
  typeof message?.content === 'string' ? message.content : '';

/** The name the model is offered for a Gmail tool (`gmail__GMAIL_FETCH_EMAILS`), whatever prefix the registry chose. */
function offered(tools: readonly { function: { name: string } }[] | undefined, slug: string) {
  return tools?.find((tool) => tool.function.name === slug || tool.function.name.endsWith(`__${slug}`))
    ?.function.name;
}

function senderName(sender: string): string {
  return /^([^<]+?)\s*</.exec(sender)?.[1] ?? sender;
}

function answerFromTool(
  messages: readonly ChatMessage[],
  last: ChatMessage,
  tools: readonly { function: { name: string } }[] | undefined,
): MockReply {
  const call = messages
    .flatMap((message) => message.tool_calls ?? [])
    .find((candidate) => candidate.id === last.tool_call_id);
  let output: unknown;
  try {
    output = JSON.parse(text(last)) as unknown;
  } catch {
    output = text(last);
  }
  const failure = toolErrorSchema.safeParse(output);
  if (failure.success) {
    const { code, message } = failure.data.error;
    if (code === 'tool_denied')
      return { text: 'Understood: I did not send it. Tell me if you want to change anything and try again.' };
    // The user chose "Not now" (or refused at Gmail's page): the run goes on without the mailbox.
    if (code === 'tool_authorization_declined')
      return {
        text: 'Gmail is not connected, so I cannot do that. Ask again, or connect Gmail on the Tools page, when you want me to.',
      };
    return { text: `The Gmail tool failed (${code}): ${message}` };
  }
  // Connecting was only the first step: now that the mailbox's tools are offered, do what was asked.
  if (call?.function.name.endsWith('__connect') && connectedSchema.safeParse(output).success) {
    const asked = messages.findLast((message) => message.role === 'user');
    if (offered(tools, 'GMAIL_FETCH_EMAILS') === undefined)
      return {
        text: 'Gmail is connected, but its tools are not available right now. Try again in a moment.',
      };
    return replyTo(text(asked), tools);
  }
  const fetched = fetchedSchema.safeParse(output);
  if (call?.function.name.endsWith('GMAIL_FETCH_EMAILS') && fetched.success) {
    const { messages: emails, resultSizeEstimate } = fetched.data;
    if (emails.length === 0) return { text: 'Your inbox has no emails matching that.' };
    const lines = emails.map(
      (email, index) =>
        `${index + 1}. "${email.subject}" from ${senderName(email.sender)} (${email.messageTimestamp.slice(0, 10)}): ${email.snippet}`,
    );
    return {
      text: `Here are your ${emails.length} newest emails${resultSizeEstimate === undefined ? '' : ` of ${resultSizeEstimate} in the inbox`}:\n${lines.join('\n')}`,
    };
  }
  // The office server's tools answer in a sentence: the model passes it on.
  if (call?.function.name.endsWith('find_desk') || call?.function.name.endsWith('reserve_parking'))
    return { text: typeof output === 'string' ? output : text(last) };
  const sent = sentSchema.safeParse(output);
  if (call?.function.name.endsWith('GMAIL_SEND_EMAIL') && sent.success) {
    return { text: `Done: the email is sent (message id ${sent.data.id}).` };
  }
  return { text: `The tool answered: ${text(last).slice(0, 500)}` };
}

/** Reads a send request: "Send an email to ada@engine.example saying the report is ready". */
function sendArguments(request: string) {
  const to = /[^@\s<>"',;]+@[^@\s<>"',;]+\.[a-z]{2,}/i.exec(request)?.[0] ?? 'ada@engine.example';
  const body = /\b(?:saying|that says)\s+(.+)$/is.exec(request)?.[1]?.trim() ?? 'Hello from Steward!';
  const subject =
    /\babout\s+(.+?)(?:\s+saying\b|$)/i.exec(request)?.[1]?.trim() ?? body.split(/[.!?\n]/)[0] ?? body;
  const capitalized = (value: string) => value.charAt(0).toUpperCase() + value.slice(1);
  return {
    user_id: 'me',
    to,
    subject: capitalized(subject.slice(0, 80)) || 'Hello',
    body: capitalized(body),
  };
}

/**
 * A deterministic stand-in for the model, for the mock OpenAI server: a question about email
 * calls GMAIL_FETCH_EMAILS, a request to send one calls GMAIL_SEND_EMAIL (a side effect: the
 * user approves it first), and after a tool result it answers from that result, read from the
 * request, so the answer reflects the mailbox's real data. Offered only `gmail__connect` (the
 * user has not connected Gmail), it calls that first and, once connected, does what was asked;
 * told the user declined, it says so. Anything else gets a plain reply.
 */
export function gmailModelReply(request: MockRequest): MockReply {
  const parsed = chatRequestSchema.safeParse(request.body);
  if (!parsed.success) return { text: 'This demo model speaks the Chat Completions API only.' };
  const { messages, tools } = parsed.data;
  const last = messages.at(-1);
  if (last?.role === 'tool') return answerFromTool(messages, last, tools);
  return replyTo(text(last), tools);
}

/** What the model does with the user's message, given the tools it is offered. */
function replyTo(question: string, tools: readonly { function: { name: string } }[] | undefined): MockReply {
  const fetchTool = offered(tools, 'GMAIL_FETCH_EMAILS');
  const sendTool = offered(tools, 'GMAIL_SEND_EMAIL');
  // The office server asks the user itself, in the middle of its call (MCP elicitation).
  const deskTool = offered(tools, 'find_desk');
  if (/\bdesk\b/i.test(question) && deskTool !== undefined)
    return { text: 'Let me find you a desk.', toolCalls: [{ name: deskTool, arguments: {} }] };
  const parkingTool = offered(tools, 'reserve_parking');
  if (/\bpark(ing)?\b/i.test(question) && parkingTool !== undefined)
    return { text: 'Let me reserve a parking space.', toolCalls: [{ name: parkingTool, arguments: {} }] };
  const aboutMail = /\b(e-?mails?|mail|inbox|messages?)\b/i.test(question);
  const sending = /\b(send|write|reply)\b/i.test(question) && (aboutMail || /@/.test(question));
  // A user who has not connected Gmail (and whom no one's catalog has been listed for yet) is
  // offered only its connect tool: calling it asks them to connect, then the run goes on.
  const connectTool = offered(tools, 'connect');
  if (
    (aboutMail || sending) &&
    fetchTool === undefined &&
    sendTool === undefined &&
    connectTool !== undefined
  )
    return {
      text: 'I need your Gmail account for that first.',
      toolCalls: [{ name: connectTool, arguments: {} }],
    };
  if (sending) {
    if (sendTool === undefined) return { text: 'The Gmail tools are not connected right now.' };
    const args = sendArguments(question);
    return {
      text: `I'll send that to ${args.to}; it needs your approval first.`,
      toolCalls: [{ name: sendTool, arguments: args }],
    };
  }
  if (aboutMail) {
    if (fetchTool === undefined) return { text: 'The Gmail tools are not connected right now.' };
    const unread = /\bunread\b/i.test(question);
    return {
      text: 'Let me look at your inbox.',
      toolCalls: [
        {
          name: fetchTool,
          arguments: { user_id: 'me', max_results: 5, label_ids: unread ? ['INBOX', 'UNREAD'] : ['INBOX'] },
        },
      ],
    };
  }
  return {
    text: `I'm the demo's scripted model, so I only know a few things: reading your inbox ("What's in my inbox?"), sending email ("Send an email to ada@engine.example saying the report is ready"), booking a desk ("Find me a desk") and reserving parking ("Reserve parking"). You said: ${question}`,
  };
}
