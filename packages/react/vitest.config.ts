import { defineConfig } from 'vitest/config';

// Generous limits: CI runs every project at once on two cores, and several tests start
// databases (PGlite), servers or child processes. Timing targets live in `npm run bench`.
export default defineConfig({
  test: {
    // The hook tests render with React; the pure reducer tests opt into `node` per file.
    environment: './vitest.environment.ts',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
