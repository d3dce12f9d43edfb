import { defineConfig } from 'vitest/config';

// Generous limits: CI runs every project at once on two cores, and several tests start
// databases (PGlite), servers or child processes. Timing targets live in `npm run bench`.
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Browser flows poll the page: on a loaded machine a streamed answer (relayed from another
    // process in pattern A) can take longer than the default second to show.
    expect: { poll: { timeout: 10_000 } },
  },
});
