import { z } from 'zod';

/**
 * What `POST /api/v1/tools/register` hands an admin's body to, e.g. `createMcpRegistry()` from
 * `@steward/mcp`. The body is untrusted input (an admin token can be stolen; a body can be
 * crafted): `register()` must accept only what a request may ask for, and never run a command.
 */
export interface ToolRegistrar {
  /**
   * Validates, checks against the operator's policy and registers; rejects with a `StewardError`
   * (`invalid_input` or `invalid_options`, answered 400 with its `details`) for anything it refuses.
   */
  register(registration: never): Promise<unknown>;
}

/**
 * @internal The registrar checks the whole registration; the route refuses at once what no
 * request may ask for, whatever the registrar: a server that is not reached over the network.
 */
export const registrationBodySchema = z.looseObject({
  transport: z.enum(['streamable-http', 'sse'], {
    error:
      'must be streamable-http or sse: a request cannot register a command to run (stdio servers come from the server’s own configuration)',
  }),
});
