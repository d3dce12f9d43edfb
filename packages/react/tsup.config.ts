import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  // Browsers and Node ≥ 22 (SSR) both load it.
  target: ['es2022', 'node22'],
  // A peer dependency: the app's own copy must be used, never a bundled one.
  external: ['react', 'react/jsx-runtime'],
});
