import { Ajv, type ErrorObject } from 'ajv';
import type { FetchEmailsArgs, Mailbox, SendEmailArgs } from './mailbox.ts';

/** GMAIL_FETCH_EMAILS's input, exactly as the architecture document defines it. */
export const fetchEmailsInputSchema = {
  type: 'object',
  properties: {
    user_id: { type: 'string' },
    label_ids: { type: 'array', items: { type: 'string' } },
    max_results: { type: 'integer', minimum: 1, maximum: 100 },
    include_payload: { type: 'boolean' },
    query: { type: 'string' },
    page_token: { type: 'string' },
  },
  required: ['user_id'],
} as const;

export const sendEmailInputSchema = {
  type: 'object',
  properties: {
    user_id: { type: 'string' },
    to: { type: 'string', pattern: '^[^@\\s]+@[^@\\s]+$' },
    subject: { type: 'string', minLength: 1, maxLength: 998 },
    body: { type: 'string', maxLength: 100_000 },
  },
  required: ['user_id', 'to', 'subject', 'body'],
  additionalProperties: false,
} as const;

/** One tool of the server, the same over MCP and over the plain-HTTP contract. */
export interface GmailTool {
  readonly slug: 'GMAIL_FETCH_EMAILS' | 'GMAIL_SEND_EMAIL';
  readonly description: string;
  readonly inputSchema: Record<string, unknown>;
  readonly annotations: {
    readOnlyHint: boolean;
    destructiveHint: boolean;
    idempotentHint: boolean;
    openWorldHint: boolean;
  };
  run(mailbox: Mailbox, args: unknown): unknown;
}

export const gmailTools: readonly GmailTool[] = [
  {
    slug: 'GMAIL_FETCH_EMAILS',
    description:
      'Lists emails in a mailbox, newest first. Filter by label_ids (all must match) and a query (text, or from:address); page with page_token.',
    inputSchema: fetchEmailsInputSchema,
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    run: (mailbox, args) => mailbox.fetch(args as FetchEmailsArgs),
  },
  {
    slug: 'GMAIL_SEND_EMAIL',
    description: 'Sends an email from the user. This has side effects: it needs the user’s confirmation.',
    inputSchema: sendEmailInputSchema,
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    run: (mailbox, args) => mailbox.send(args as SendEmailArgs),
  },
];

/** Arguments that fail a tool's schema, with every error. */
export class ToolArgumentsError extends Error {
  readonly errors: readonly { path: string; message: string }[];
  constructor(slug: string, errors: readonly ErrorObject[]) {
    const list = errors.map((error) => ({
      path: error.instancePath || '/',
      message: error.message ?? 'is invalid',
    }));
    super(
      `Invalid arguments for ${slug}: ${list.map((error) => `${error.path} ${error.message}`).join('; ')}`,
    );
    this.errors = list;
  }
}

const ajv = new Ajv({ allErrors: true });
const validators = new Map(gmailTools.map((tool) => [tool.slug, ajv.compile(tool.inputSchema)]));

/** Throws {@link ToolArgumentsError} with every error when `args` fail the tool's schema. */
export function validateArguments(tool: GmailTool, args: unknown): void {
  const validate = validators.get(tool.slug);
  if (validate !== undefined && !validate(args))
    throw new ToolArgumentsError(tool.slug, validate.errors ?? []);
}

/** Validates `args` against the tool's schema (all errors), then runs it. */
export function runTool(mailbox: Mailbox, tool: GmailTool, args: unknown): unknown {
  validateArguments(tool, args);
  return tool.run(mailbox, args);
}
