import { builtinEnvironments, type Environment } from 'vitest/runtime';

/**
 * happy-dom for the DOM, Node for the network. happy-dom replaces `fetch`, `WebSocket`, `URL`,
 * `AbortSignal` and `Event` with its own (with browser CORS rules). The hook tests run a real
 * Steward server in the same process and talk to it over real sockets, so Node's stay global;
 * the DOM's `document.defaultView` still has happy-dom's.
 */
const nodeGlobals = [
  'fetch',
  'Headers',
  'Request',
  'Response',
  'FormData',
  'WebSocket',
  'AbortController',
  'AbortSignal',
  'URL',
  'URLSearchParams',
  'MessagePort',
  // Node's WebSocket and AbortSignal dispatch these; happy-dom's DOM keeps its own on `window`.
  'Event',
  'EventTarget',
  'MessageEvent',
  'CloseEvent',
  'ErrorEvent',
];

const happyDom = builtinEnvironments['happy-dom'];

// biome-ignore lint/style/noDefaultExport: Vitest loads a custom environment from its default export.
export default {
  name: 'happy-dom-node-network',
  viteEnvironment: 'client',
  async setup(global: typeof globalThis, options) {
    const saved = nodeGlobals.map((key) => [key, Object.getOwnPropertyDescriptor(global, key)] as const);
    const environment = await happyDom.setup(global, options);
    for (const [key, descriptor] of saved)
      if (descriptor !== undefined) Object.defineProperty(global, key, descriptor);
    return environment;
  },
} satisfies Environment;
