import { StewardError } from '@steward/core';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { LRUCache } from 'lru-cache';

/** @internal One way a value fails a JSON Schema, as Ajv reports it. */
export interface SchemaError {
  readonly path: string;
  readonly message: string;
  readonly keyword: string;
  readonly params: unknown;
}

/**
 * @internal Checks tool arguments against the tool's JSON Schema before any call leaves this
 * process, reporting every error at once. Validators are compiled once per schema object.
 */
export class ArgumentValidator {
  // `addUsedSchema: false`: a server's `$id` must not be registered globally, or the same schema
  // listed again (a new object) would fail to compile as a duplicate.
  readonly #ajv = new Ajv2020({
    allErrors: true,
    strict: false,
    validateFormats: false,
    addUsedSchema: false,
  });
  // Keyed by the schema's JSON, bounded: re-listings hand over equal schemas as new objects.
  readonly #compiled = new LRUCache<string, { validate: ValidateFunction | null }>({ max: 2_000 });

  /** Throws `tool_invalid_arguments` with `details.errors` when `args` fail `schema`. */
  check(schema: Readonly<Record<string, unknown>>, args: unknown, toolName: string): void {
    const errors = this.errors(schema, args);
    if (errors.length === 0) return;
    const summary = errors.map((error) => `${error.path} ${error.message}`).join('; ');
    throw new StewardError('tool_invalid_arguments', `Invalid arguments for ${toolName}: ${summary}`, {
      details: { errors },
    });
  }

  /** Every way `value` fails `schema` (none when it fits, or when Ajv cannot compile the schema). */
  errors(schema: Readonly<Record<string, unknown>>, value: unknown): SchemaError[] {
    const validate = this.#validatorFor(schema);
    if (validate === null || validate(value)) return [];
    return (validate.errors ?? []).map((error: ErrorObject) => ({
      path: error.instancePath === '' ? '/' : error.instancePath,
      message: error.message ?? 'is invalid',
      keyword: error.keyword,
      params: error.params,
    }));
  }

  #validatorFor(schema: Readonly<Record<string, unknown>>): ValidateFunction | null {
    const key = JSON.stringify(schema);
    const cached = this.#compiled.get(key);
    if (cached !== undefined) return cached.validate;
    // Servers declare various drafts; the keywords that matter are the same, so the dialect is ignored.
    const { $schema: _dialect, ...body } = schema;
    let validate: ValidateFunction | null;
    try {
      validate = this.#ajv.compile(body);
      this.#ajv.removeSchema(body); // Ajv caches by object; ours is the bounded cache.
    } catch {
      validate = null; // A schema Ajv cannot compile: leave validation to the server.
    }
    this.#compiled.set(key, { validate });
    return validate;
  }
}
