import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', openai: 'src/openai.ts', testing: 'src/testing.ts' },
  format: ['esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node22',
  splitting: true,
  treeshake: true,
});
