import { defineConfig } from 'vitest/config';

// Generous limits: CI runs every project at once on two cores, and several tests start
// databases (PGlite), servers or child processes. Timing targets live in `npm run bench`.
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // A poll waits on real processes (an orchestrator noticing a cut connection, writing its log,
    // recovering a run) that a loaded machine may schedule late: its timeout is an upper bound,
    // not a wait, and passing polls still end as soon as the condition holds.
    expect: { poll: { timeout: 15_000, interval: 100 } },
  },
});
