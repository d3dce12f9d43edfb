import { defineConfig } from 'vitest/config';

// The fuzz files run for a fixed number of cases under a time cap (see src/budget.ts), and the
// fault scenarios start orchestrator processes: generous limits, as the examples have.
export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
