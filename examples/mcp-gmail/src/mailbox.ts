/** One message of the fixture mailbox, in the seed's output shape plus its labels and body. */
export interface MailMessage {
  readonly messageId: string;
  readonly threadId: string;
  readonly messageTimestamp: string;
  readonly sender: string;
  readonly subject: string;
  readonly snippet: string;
  readonly labelIds: readonly string[];
  readonly body: string;
}

/** The two mailboxes of the fixture; `me` means the first. */
export const fixtureUsers = { alice: 'alice@example.com', bob: 'bob@example.com' } as const;

/** A small deterministic PRNG (mulberry32): the same seed always builds the same mailbox. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const senders = [
  'Grace Hopper <grace@navy.example>',
  'Alan Turing <alan@bletchley.example>',
  'Billing <billing@shop.example>',
  'GitHub <noreply@github.example>',
  'Ada Lovelace <ada@engine.example>',
  'Travel Desk <trips@airline.example>',
];
const topics = [
  ['Quarterly report', 'The numbers for Q3 are in and look better than expected.'],
  ['Your invoice is ready', 'Invoice #{n} for your subscription is attached.'],
  ['Flight confirmation', 'Your flight to Lisbon departs at 09:40 from gate B{n}.'],
  ['Pull request review', 'A review was requested on pull request #{n}.'],
  ['Lunch on Friday?', 'Are you free for lunch on Friday around noon?'],
  ['Security alert', 'A new sign-in to your account was detected.'],
  ['Weekly newsletter', 'This week: compilers, coffee and code review tips.'],
];
const categories = ['CATEGORY_PERSONAL', 'CATEGORY_UPDATES', 'CATEGORY_PROMOTIONS', 'CATEGORY_SOCIAL'];

function buildMailbox(owner: string, count: number, seed: number): MailMessage[] {
  const next = random(seed);
  const start = Date.parse('2026-11-01T09:00:00Z');
  return Array.from({ length: count }, (_value, index) => {
    const [subject, snippet] = topics[Math.floor(next() * topics.length)] as [string, string];
    const number = 100 + Math.floor(next() * 900);
    const labels = ['INBOX', categories[Math.floor(next() * categories.length)] as string];
    if (next() < 0.3) labels.push('UNREAD');
    if (next() < 0.2) labels.push('IMPORTANT');
    const thread = Math.floor(index / 3);
    return {
      messageId: `${owner.slice(0, 1)}${(seed * 1_000 + index).toString(16).padStart(15, '0')}`,
      threadId: `${owner.slice(0, 1)}t${thread.toString(16).padStart(14, '0')}`,
      messageTimestamp: new Date(start - index * 3_600_000 - Math.floor(next() * 3_000_000)).toISOString(),
      sender: senders[Math.floor(next() * senders.length)] as string,
      subject: `${subject}${subject.includes('#') ? '' : ` (${number})`}`,
      snippet: snippet.replace('{n}', String(number)),
      labelIds: labels,
      body: `${snippet.replace('{n}', String(number))}\n\n${'Lorem ipsum dolor sit amet. '.repeat(8)}`,
    };
  });
}

/** Fetch arguments, as the seed's GMAIL_FETCH_EMAILS input schema defines them. */
export interface FetchEmailsArgs {
  user_id: string;
  label_ids?: string[];
  max_results?: number;
  include_payload?: boolean;
  query?: string;
  page_token?: string;
}

/** Send arguments of GMAIL_SEND_EMAIL. */
export interface SendEmailArgs {
  user_id: string;
  to: string;
  subject: string;
  body: string;
}

/** One email GMAIL_SEND_EMAIL sent: its arguments, its id and the mailbox it was sent from. */
export interface SentEmail extends SendEmailArgs {
  readonly id: string;
  readonly from: string;
}

/** Thrown for arguments that pass the schema but name something that does not exist. */
export class MailboxError extends Error {}

/**
 * The mock mailbox: 201 messages for alice, 37 for bob, and a record of every email sent.
 *
 * Which mailbox a call reaches: with a `principal` (the mailbox the caller signed in as, from an
 * OAuth access token), `user_id` `me` means that mailbox and any other user's is refused, as
 * Gmail refuses delegation. Without one (no auth, or a service JWT that names no user),
 * `user_id` picks the mailbox and `me` means alice's.
 */
export class Mailbox {
  readonly #boxes = new Map<string, MailMessage[]>([
    [fixtureUsers.alice, buildMailbox(fixtureUsers.alice, 201, 7)],
    [fixtureUsers.bob, buildMailbox(fixtureUsers.bob, 37, 11)],
  ]);
  /** Every email sent, by every user, oldest first. */
  readonly sent: SentEmail[] = [];

  /** The addresses that have a mailbox. */
  owners(): string[] {
    return [...this.#boxes.keys()];
  }

  /** The emails `owner` sent, oldest first. */
  sentBy(owner: string): SentEmail[] {
    return this.sent.filter((email) => email.from === owner);
  }

  #box(userId: string, principal: string | undefined): { owner: string; messages: MailMessage[] } {
    const owner = userId === 'me' ? (principal ?? fixtureUsers.alice) : userId;
    if (principal !== undefined && owner !== principal) {
      throw new MailboxError(`Delegation denied: ${principal} cannot use the mailbox of "${userId}"`);
    }
    const messages = this.#boxes.get(owner);
    if (messages === undefined) throw new MailboxError(`No mailbox for user_id "${userId}"`);
    return { owner, messages };
  }

  /** GMAIL_FETCH_EMAILS: newest first, filtered by every label and the query, paged by page_token. */
  fetch(args: FetchEmailsArgs, principal?: string) {
    const { messages } = this.#box(args.user_id, principal);
    const labels = args.label_ids ?? [];
    const query = (args.query ?? '').trim().toLowerCase();
    const from = /^from:(\S+)/.exec(query)?.[1];
    const text = from === undefined ? query : query.replace(/^from:\S+\s*/, '');
    const matching = messages.filter(
      (message) =>
        labels.every((label) => message.labelIds.includes(label)) &&
        (from === undefined || message.sender.toLowerCase().includes(from)) &&
        (text === '' ||
          `${message.subject} ${message.snippet} ${message.sender}`.toLowerCase().includes(text)),
    );
    const offset = args.page_token === undefined ? 0 : decodePageToken(args.page_token);
    const size = args.max_results ?? 10;
    const page = matching.slice(offset, offset + size);
    const nextOffset = offset + page.length;
    return {
      messages: page.map(({ labelIds, body, ...message }) =>
        args.include_payload === true
          ? { ...message, labelIds, payload: { mimeType: 'text/plain', body } }
          : message,
      ),
      ...(nextOffset < matching.length ? { nextPageToken: encodePageToken(nextOffset) } : {}),
      resultSizeEstimate: matching.length,
    };
  }

  /** GMAIL_SEND_EMAIL: records the email in the sender's SENT label. */
  send(args: SendEmailArgs, principal?: string) {
    const { owner, messages } = this.#box(args.user_id, principal);
    const id = `s${(this.sent.length + 1).toString(16).padStart(15, '0')}`;
    this.sent.push({ ...args, id, from: owner });
    messages.unshift({
      messageId: id,
      threadId: id,
      messageTimestamp: new Date().toISOString(),
      sender: owner,
      subject: args.subject,
      snippet: args.body.slice(0, 100),
      labelIds: ['SENT'],
      body: args.body,
    });
    return { id, threadId: id, labelIds: ['SENT'] };
  }
}

function encodePageToken(offset: number): string {
  return Buffer.from(`offset:${offset}`).toString('base64url');
}

function decodePageToken(token: string): number {
  const match = /^offset:(\d+)$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  if (match === null) throw new MailboxError(`Invalid page_token "${token}"`);
  return Number(match[1]);
}
