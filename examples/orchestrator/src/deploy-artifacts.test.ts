import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { createOrchestratorMetrics } from './metrics.ts';

// The dashboard and alert rules in deploy/ query the orchestrator's metrics by name and label:
// a renamed metric or label would leave a panel empty or an alert silent, so each is checked
// against the registry the service serves.
const root = new URL('../../../deploy/', import.meta.url);
const metrics = createOrchestratorMetrics();
const labelsOf = new Map(
  (await metrics.registry.getMetricsAsJSON()).map((metric) => [
    metric.name,
    new Set(
      (metric.values as { labels: Record<string, unknown> }[]).flatMap((value) => Object.keys(value.labels)),
    ),
  ]),
);
// Label names from the registry's declarations (values are empty before any sample).
const declared = new Map<string, readonly string[]>(
  Object.values(metrics)
    .filter(
      (metric): metric is { name: string; labelNames: readonly string[] } & object =>
        typeof (metric as { name?: unknown }).name === 'string',
    )
    .map((metric) => [metric.name, (metric as unknown as { labelNames?: string[] }).labelNames ?? []]),
);

function checkQuery(expr: string): void {
  const names = [...expr.matchAll(/\b(steward_[a-z_]+)/g)].map(([name]) => name as string);
  expect(names.length).toBeGreaterThan(0);
  for (const name of names) {
    const base = name.replace(/_(bucket|count|sum)$/, '');
    expect(labelsOf.has(base) || labelsOf.has(name), `${name} is served`).toBe(true);
    const grouped = [...expr.matchAll(/by \(([^)]*)\)/g)].flatMap(([, list]) =>
      (list as string).split(',').map((label) => label.trim()),
    );
    const selected = [...expr.matchAll(new RegExp(`${name}\\{([^}]*)\\}`, 'g'))].flatMap(([, matchers]) =>
      [...(matchers as string).matchAll(/(\w+)\s*[=!~]/g)].map(([, label]) => label as string),
    );
    const known = new Set([...(declared.get(base) ?? []), 'le']);
    for (const label of [...grouped, ...selected])
      expect(known, `${name} has label ${label}`).toContain(label);
  }
}

describe('deploy/ observability artifacts', () => {
  it('alert rules: well formed, each on served metrics and labels', () => {
    const rules = z
      .object({
        groups: z.array(
          z.object({
            name: z.string(),
            rules: z.array(
              z.object({
                alert: z.string(),
                expr: z.string(),
                for: z.string().regex(/^\d+[smh]$/),
                labels: z.object({ severity: z.enum(['page', 'warn', 'info']) }),
                annotations: z.object({ summary: z.string(), description: z.string() }),
              }),
            ),
          }),
        ),
      })
      .parse(parse(readFileSync(new URL('prometheus/steward-alerts.yml', root), 'utf8')));
    const alerts = rules.groups.flatMap((group) => group.rules);
    // The three: error rate, TTFT p95, breaker open.
    expect(alerts.map((alert) => alert.alert)).toEqual(
      expect.arrayContaining([
        'StewardRunErrorRateHigh',
        'StewardTimeToFirstTokenSlow',
        'StewardMcpCircuitOpen',
      ]),
    );
    for (const alert of alerts) checkQuery(alert.expr);
  });

  it('Grafana dashboard: every panel queries served metrics and labels', () => {
    const dashboard = z
      .object({
        uid: z.string(),
        panels: z.array(
          z.object({ title: z.string(), targets: z.array(z.object({ expr: z.string() })).min(1) }),
        ),
      })
      .parse(JSON.parse(readFileSync(new URL('grafana/steward-dashboard.json', root), 'utf8')));
    expect(dashboard.panels.length).toBeGreaterThan(8);
    for (const panel of dashboard.panels) for (const target of panel.targets) checkQuery(target.expr);
  });
});
