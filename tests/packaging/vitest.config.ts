import { defineConfig } from 'vitest/config';

// One install of seven tarballs into a fresh project, then tsc twice and the linters: generous
// limits for two busy cores. The whole file stays well under three minutes.
export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
