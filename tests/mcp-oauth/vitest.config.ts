import { defineConfig } from 'vitest/config';

// Each test starts an authorization server and an MCP server in process: generous limits, as the
// examples have, since CI runs every project at once on two cores.
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
