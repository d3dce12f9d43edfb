import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'mock-openai': 'src/mock-openai.ts',
    'mock-mcp': 'src/mock-mcp.ts',
    conformance: 'src/conformance.ts',
    'fault-proxy': 'src/fault-proxy.ts',
    'mock-mcp-stdio': 'src/mock-mcp/mock-mcp-stdio.ts',
  },
  format: ['esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node22',
});
