import { fileURLToPath } from 'node:url';
import type { NextConfig } from 'next';

// The repository root: the workspace packages and hoisted node_modules live there, so the
// standalone output traces files from it (and Turbopack resolves from it).
const root = fileURLToPath(new URL('../..', import.meta.url));

const config: NextConfig = {
  // A self-contained server in .next/standalone for the Dockerfile (node server.js, no npm install).
  output: 'standalone',
  outputFileTracingRoot: root,
  turbopack: { root },
  // `npm run typecheck` (tsc) checks the types; checking them again inside `next build` would
  // double the build's time on a small CI machine.
  typescript: { ignoreBuildErrors: true },
  poweredByHeader: false,
  // openid-client and jose run in Node route handlers and server components only.
  serverExternalPackages: ['openid-client'],
};

// biome-ignore lint/style/noDefaultExport: Next reads its configuration from the default export.
export default config;
