import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Mailbox } from './mailbox.ts';

/** The server's Prometheus metrics, served at /metrics. */
export interface Metrics {
  readonly registry: Registry;
  readonly calls: Counter<'tool' | 'protocol' | 'outcome'>;
  readonly replays: Counter;
}

export function createMetrics(mailbox: Mailbox): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'gmail_mock_emails_sent',
    help: 'Emails sent since the server started',
    registers: [registry],
    collect() {
      this.set(mailbox.sent.length);
    },
  });
  return {
    registry,
    calls: new Counter({
      name: 'gmail_mock_tool_calls_total',
      help: 'Tool calls by tool, protocol and outcome',
      labelNames: ['tool', 'protocol', 'outcome'],
      registers: [registry],
    }),
    replays: new Counter({
      name: 'gmail_mock_execute_replays_total',
      help: 'POST /mcp/execute requests answered from the idempotency store',
      registers: [registry],
    }),
  };
}
