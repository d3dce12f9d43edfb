import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// @steward/react's own tests, run a second time under React 18 (its peer range is ^18.3 || ^19).
// React 18 is installed in this folder (the root has React 19), and every import of react and
// react-dom is pointed at it: the hook's source and Testing Library (inlined so the alias applies
// to it too; react-dom 18 finds this folder's react by Node's own resolution).
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  root: here('../../packages/react'),
  resolve: {
    alias: [
      // Its `main` is CommonJS, whose require() no alias reaches: use its ES module build.
      {
        find: /^@testing-library\/react$/,
        replacement: here('../../node_modules/@testing-library/react/dist/@testing-library/react.esm.js'),
      },
      { find: /^react-dom(\/.*)?$/, replacement: `${here('./node_modules/react-dom')}$1` },
      { find: /^react(\/.*)?$/, replacement: `${here('./node_modules/react')}$1` },
    ],
  },
  test: {
    name: 'react-18',
    environment: './vitest.environment.ts',
    include: ['src/**/*.test.{ts,tsx}'],
    // The reducer and boundary tests do not touch React: once (in packages/react) is enough.
    exclude: ['src/chat-reducer.test.ts', 'src/input-requests.test.ts', 'src/boundary.test.ts'],
    server: { deps: { inline: [/@testing-library\/react/] } },
    env: { STEWARD_EXPECT_REACT: '18' },
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
