// The orchestrator service: `node src/main.ts`, configured by environment variables (see README.md).
// A bad configuration exits 1 before anything connects; SIGTERM or SIGINT drains, then exits 0.
import { formatProblems, loadConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { startOrchestrator } from './orchestrator.ts';
import { startTelemetry } from './telemetry.ts';

const loaded = loadConfig(process.env);
if (!loaded.ok) {
  process.stderr.write(formatProblems(loaded.problems));
  process.exit(1);
}
// Before anything starts a span: spans of a run are only exported once the SDK is registered.
const telemetry = startTelemetry(process.env, 'steward-orchestrator');
const logger = createLogger();
for (const warning of loaded.warnings) logger.warn('config_warning', { message: warning });

const orchestrator = await startOrchestrator(loaded.config, logger).catch((error: unknown) => {
  logger.error('start_failed', { error });
  process.exit(1);
});
logger.info('listening', { url: orchestrator.url });

// A second signal stops waiting for runs: they are aborted at once, partial answers kept.
const onSignal = (signal: NodeJS.Signals) => {
  orchestrator
    .shutdown(signal)
    .then(() => telemetry?.shutdown())
    .then(
      () => {
        logger.info('stopped', { signal });
        process.exit(0);
      },
      (error: unknown) => {
        logger.error('shutdown_failed', { error });
        process.exit(1);
      },
    );
};
process.on('SIGTERM', onSignal);
process.on('SIGINT', onSignal);
