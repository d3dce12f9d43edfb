import { z } from 'zod';
import { safeTextSchema } from '../internal/safe-text.ts';

// The requested schema is the restricted JSON Schema of MCP elicitation (2025-11-25): a flat
// object of primitive fields. Nothing richer is accepted, so every instance can check an answer
// against it without a JSON Schema engine and a form can render every field.

const label = z.string().max(1_000);
const option = z.string().max(1_000);
const options = z.array(option).min(1).max(1_000);
const titledOptions = z
  .array(z.object({ const: option, title: label }))
  .min(1)
  .max(1_000);
const length = z.number().int().nonnegative();
const annotated = { title: label.optional(), description: z.string().max(10_000).optional() };

const booleanField = z.object({ type: z.literal('boolean'), ...annotated, default: z.boolean().optional() });
const stringField = z.object({
  type: z.literal('string'),
  ...annotated,
  minLength: length.optional(),
  maxLength: length.optional(),
  format: z.enum(['email', 'uri', 'date', 'date-time']).optional(),
  default: z.string().optional(),
});
const numberField = z.object({
  type: z.enum(['number', 'integer']),
  ...annotated,
  minimum: z.number().optional(),
  maximum: z.number().optional(),
  default: z.number().optional(),
});
const singleSelectField = z.object({
  type: z.literal('string'),
  ...annotated,
  enum: options,
  /** Display names of `enum` (the deprecated titled form). */
  enumNames: z.array(label).optional(),
  default: option.optional(),
});
const titledSingleSelectField = z.object({
  type: z.literal('string'),
  ...annotated,
  oneOf: titledOptions,
  default: option.optional(),
});
const multiSelectField = z.object({
  type: z.literal('array'),
  ...annotated,
  minItems: length.optional(),
  maxItems: length.optional(),
  items: z.union([
    z.object({ type: z.literal('string'), enum: options }),
    z.object({ anyOf: titledOptions }),
  ]),
  default: z.array(option).optional(),
});

// One field of a form, checked. Enumerations first: they are strings too.
const inputFieldSchema = z.union([
  singleSelectField,
  titledSingleSelectField,
  multiSelectField,
  booleanField,
  stringField,
  numberField,
]);

/** What every field of a form may say about itself. */
export interface InputFieldLabel {
  readonly title?: string | undefined;
  readonly description?: string | undefined;
}

/** A choice with a display title. */
export interface TitledOption {
  readonly const: string;
  readonly title: string;
}

/**
 * One field of a form: a boolean, a string (optionally an email, URI, date or date-time), a
 * number or integer, a single choice (`enum`, or `oneOf` with titles) or a multiple choice
 * (`type: 'array'` of `enum` or titled `anyOf` items). `default` pre-fills it.
 */
export type InputFieldSchema =
  | (InputFieldLabel & { readonly type: 'boolean'; readonly default?: boolean | undefined })
  | (InputFieldLabel & {
      readonly type: 'string';
      readonly minLength?: number | undefined;
      readonly maxLength?: number | undefined;
      readonly format?: 'email' | 'uri' | 'date' | 'date-time' | undefined;
      readonly default?: string | undefined;
    })
  | (InputFieldLabel & {
      readonly type: 'number' | 'integer';
      readonly minimum?: number | undefined;
      readonly maximum?: number | undefined;
      readonly default?: number | undefined;
    })
  | (InputFieldLabel & {
      readonly type: 'string';
      readonly enum: readonly string[];
      /** Display names of `enum` (the deprecated titled form). */
      readonly enumNames?: readonly string[] | undefined;
      readonly default?: string | undefined;
    })
  | (InputFieldLabel & {
      readonly type: 'string';
      readonly oneOf: readonly TitledOption[];
      readonly default?: string | undefined;
    })
  | (InputFieldLabel & {
      readonly type: 'array';
      readonly minItems?: number | undefined;
      readonly maxItems?: number | undefined;
      readonly items:
        | { readonly type: 'string'; readonly enum: readonly string[] }
        | { readonly anyOf: readonly TitledOption[] };
      readonly default?: readonly string[] | undefined;
    });

/** @internal Checks a {@link RequestedSchema}. */
export const requestedSchemaSchema = z.object({
  type: z.literal('object'),
  properties: z
    .record(z.string().min(1).max(256), inputFieldSchema)
    .refine((properties) => Object.keys(properties).length <= 100, 'must have at most 100 fields'),
  required: z.array(z.string()).max(100).optional(),
});

/** What a form asks for: MCP's restricted JSON Schema, a flat object of primitive fields. */
export interface RequestedSchema {
  readonly type: 'object';
  readonly properties: Readonly<Record<string, InputFieldSchema>>;
  readonly required?: readonly string[] | undefined;
}

// The schema accepts exactly the documented shape (checked at compile time here).
const _requested: (value: z.output<typeof requestedSchemaSchema>) => RequestedSchema = (value) => value;
void _requested;

const message = safeTextSchema.trim().min(1).max(10_000);
const server = z.string().min(1).max(256).optional();

/** @internal */
export const inputRequestSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('form'), message, requestedSchema: requestedSchemaSchema, server }),
  z.object({
    mode: z.literal('url'),
    message,
    // A link the user is asked to open: never a `javascript:` or `data:` URL.
    url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(8_192),
    server,
  }),
]);

/**
 * What a tool asks the user for, through `ToolCallContext.requestInput`. `form`: fill in the
 * fields of `requestedSchema`; `url`: open `url` (sign in somewhere, pay, consent) and come back.
 * `server` names who asks (default: the tool's provider).
 */
export type InputRequest =
  | {
      readonly mode: 'form';
      readonly message: string;
      readonly requestedSchema: RequestedSchema;
      readonly server?: string;
    }
  | { readonly mode: 'url'; readonly message: string; readonly url: string; readonly server?: string };

/** The values of a submitted form, by field name. */
export type InputContent = Readonly<Record<string, string | number | boolean | readonly string[]>>;

/**
 * The user's answer: `accept` (with the form's `content`), `decline` (an explicit no) or
 * `cancel` (dismissed, timed out, or the run stopped).
 */
export type InputResponse =
  | { readonly action: 'accept'; readonly content?: InputContent }
  | { readonly action: 'decline' }
  | { readonly action: 'cancel' };

/** The action of an {@link InputResponse}. */
export type InputAction = InputResponse['action'];

const contentValue = z.union([
  safeTextSchema.max(100_000),
  z.number(),
  z.boolean(),
  z.array(safeTextSchema.max(1_000)).max(1_000),
]);

/**
 * Validates an answer's shape (`{ action, content? }`): what `respondToInput` and transports take.
 * Whether `content` fits the request's form is checked against its `requested_schema` after this.
 */
export const inputResponseSchema = z
  .object({
    action: z.enum(['accept', 'decline', 'cancel']),
    content: z.record(z.string().min(1).max(256), contentValue).optional(),
  })
  .strict()
  .refine((response) => response.action === 'accept' || response.content === undefined, {
    message: 'only an accept carries content',
    path: ['content'],
  });

/** @internal A problem with submitted content, by field. */
export interface InputIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * @internal Checks a form answer against its request: unanswered fields take their `default`
 * first, then every field must fit its schema, every required one must be there, and nothing else
 * may be. Returns the content to send on, or every issue at once.
 */
export function checkInputContent(
  schema: RequestedSchema,
  content: InputContent,
): { readonly content: InputContent } | { readonly issues: readonly InputIssue[] } {
  const required = new Set(schema.required ?? []);
  const filled: Record<string, unknown> = { ...content };
  const shape: Record<string, z.ZodType> = {};
  for (const [name, field] of Object.entries(schema.properties)) {
    if (filled[name] === undefined && field.default !== undefined) filled[name] = field.default;
    const check = fieldCheck(field);
    shape[name] = required.has(name) ? check : check.optional();
  }
  const parsed = z.strictObject(shape).safeParse(filled);
  if (parsed.success) return { content: parsed.data as InputContent };
  return {
    issues: parsed.error.issues.map((issue) => ({
      path: issue.path.join('.') || '(content)',
      message:
        issue.code === 'unrecognized_keys'
          ? `not a field of the form: ${issue.keys.join(', ')}`
          : issue.message,
    })),
  };
}

function fieldCheck(field: InputFieldSchema): z.ZodType {
  switch (field.type) {
    case 'boolean':
      return z.boolean();
    case 'number':
    case 'integer': {
      let check = field.type === 'integer' ? z.number().int() : z.number();
      if (field.minimum !== undefined) check = check.min(field.minimum);
      if (field.maximum !== undefined) check = check.max(field.maximum);
      return check;
    }
    case 'array': {
      const choices = 'enum' in field.items ? field.items.enum : field.items.anyOf.map((item) => item.const);
      let check = z.array(oneOf(choices));
      if (field.minItems !== undefined) check = check.min(field.minItems);
      if (field.maxItems !== undefined) check = check.max(field.maxItems);
      return check;
    }
    case 'string':
      if ('enum' in field) return oneOf(field.enum);
      if ('oneOf' in field) return oneOf(field.oneOf.map((item) => item.const));
      return textCheck(field);
  }
}

function textCheck(field: Extract<InputFieldSchema, { readonly format?: unknown }>): z.ZodType {
  let check = z.string();
  if (field.minLength !== undefined) check = check.min(field.minLength);
  if (field.maxLength !== undefined) check = check.max(field.maxLength);
  if (field.format === 'email') return check.pipe(z.email());
  if (field.format === 'uri') return check.pipe(z.url());
  if (field.format === 'date') return check.pipe(z.iso.date());
  if (field.format === 'date-time') return check.pipe(z.iso.datetime({ offset: true }));
  return check;
}

function oneOf(choices: readonly string[]): z.ZodType<string> {
  const allowed = new Set(choices);
  return z.string().refine((value) => allowed.has(value), `must be one of: ${choices.join(', ')}`);
}
