import { defineConfig } from 'vitest/config';

// The browser tests start the whole stack (orchestrator and Next in their own processes) once
// per file; CI runs every project at once on two cores.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 240_000,
  },
});
