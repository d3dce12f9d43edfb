import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe } from 'vitest';
import { type RemoteOrchestrator, startRemoteOrchestrator } from '../remote/orchestrator-process.ts';
import { type RemoteExpressHost, startRemoteExpressHost } from '../remote-host.ts';
import { coreFlows } from './core-flows.ts';
import { hasChromium, launchChromium } from './harness.ts';

// Pattern A in Chromium: the same pages and script, the host forwarding every request to
// examples/orchestrator in another process (PostgreSQL, Redis, the demo's scripted model, the
// Gmail mock behind service JWTs) and relaying its run streams to the page.
let orchestrator: RemoteOrchestrator;
let host: RemoteExpressHost;
let browser: Browser;

beforeAll(async () => {
  if (!hasChromium) return;
  // Chunks 30 ms apart (15 in process): a stop travels page → host → orchestrator → its run
  // (through Redis), and must land while the answer still streams on a loaded CI machine.
  orchestrator = await startRemoteOrchestrator({ chunkDelayMs: 30 });
  [host, browser] = await Promise.all([
    startRemoteExpressHost({
      orchestrator: { url: orchestrator.url, secret: orchestrator.secret },
      formWaitMs: 10_000,
    }),
    launchChromium(),
  ]);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await host?.stop();
  await orchestrator?.stop();
});

describe.skipIf(!hasChromium)('the demo in Chromium, against an orchestrator in another process', () => {
  coreFlows(
    () => ({ url: host.url, sentCount: () => orchestrator.gmail.mailbox.sent.length }),
    () => browser,
  );
});
