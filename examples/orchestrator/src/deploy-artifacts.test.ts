import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
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

/** The base's resources as `kubectl kustomize` renders them: the base has no patches to apply. */
function kustomizeBase(): Record<string, unknown>[] {
  const base = new URL('kubernetes/base/', root);
  const kustomization = z
    .object({ namespace: z.string(), resources: z.array(z.string()).min(1) })
    .parse(parse(readFileSync(new URL('kustomization.yaml', base), 'utf8')));
  return kustomization.resources.flatMap((file) =>
    parseAllDocuments(readFileSync(new URL(file, base), 'utf8')).map((document) => {
      expect(document.errors, file).toEqual([]);
      const resource = document.toJS() as { kind: string; metadata: { namespace?: string } };
      if (resource.kind !== 'Namespace') resource.metadata.namespace = kustomization.namespace;
      return resource as unknown as Record<string, unknown>;
    }),
  );
}

describe('deploy/kubernetes', () => {
  const resources = kustomizeBase();
  const ofKind = (kind: string) => resources.filter((resource) => resource.kind === kind) as never[];

  it('every resource validates against the Kubernetes OpenAPI schema (kubernetes-models)', async () => {
    for (const resource of resources) {
      const apiVersion = resource.apiVersion as string;
      const models = (await import(`kubernetes-models/${apiVersion}`)) as Record<
        string,
        new (
          data: unknown,
        ) => { validate(): void }
      >;
      const Model = models[resource.kind as string];
      expect(Model, `${apiVersion} ${String(resource.kind)}`).toBeDefined();
      expect(() => new (Model as NonNullable<typeof Model>)(resource).validate()).not.toThrow();
    }
    expect(new Set(resources.map((resource) => resource.kind))).toEqual(
      new Set([
        'Namespace',
        'ServiceAccount',
        'ConfigMap',
        'Deployment',
        'Service',
        'HorizontalPodAutoscaler',
        'PodDisruptionBudget',
        'NetworkPolicy',
        'Ingress',
      ]),
    );
  });

  it('a schema check that can fail: a value of the wrong type is refused', async () => {
    const { Deployment } = await import('kubernetes-models/apps/v1');
    const [deployment] = ofKind('Deployment') as { spec: { replicas: unknown } }[];
    const broken = structuredClone(deployment) as { spec: { replicas: unknown } };
    broken.spec.replicas = 'two';
    expect(() => new Deployment(broken as never).validate()).toThrow();
  });

  it('policies: non-root, resource limits, pinned images, probes, a grace period that covers the drain', () => {
    const config = ofKind('ConfigMap')[0] as unknown as { data: Record<string, string> };
    for (const deployment of ofKind('Deployment') as {
      spec: {
        template: {
          spec: {
            securityContext?: { runAsNonRoot?: boolean };
            terminationGracePeriodSeconds?: number;
            containers: {
              image: string;
              resources?: { limits?: { cpu?: string; memory?: string } };
              securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean };
              readinessProbe?: { httpGet?: { path: string } };
              livenessProbe?: { httpGet?: { path: string } };
              lifecycle?: { preStop?: { sleep?: { seconds: number } } };
              env?: { name: string; value?: string; valueFrom?: unknown }[];
            }[];
          };
        };
      };
    }[]) {
      const pod = deployment.spec.template.spec;
      expect(pod.securityContext?.runAsNonRoot).toBe(true);
      for (const container of pod.containers) {
        expect(container.image).toMatch(/:[\w.-]+$/);
        expect(container.image).not.toMatch(/:latest$/);
        expect(container.resources?.limits?.cpu).toBeDefined();
        expect(container.resources?.limits?.memory).toBeDefined();
        expect(container.securityContext).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
        });
        expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
        expect(container.livenessProbe?.httpGet?.path).toBe('/healthz');
        // Secrets come from Secret references, never inline values.
        for (const variable of container.env ?? []) expect(variable.value, variable.name).toBeUndefined();
        const drainSeconds = Number(config.data.STEWARD_DRAIN_TIMEOUT_MS) / 1000;
        const preStop = container.lifecycle?.preStop?.sleep?.seconds ?? 0;
        expect(pod.terminationGracePeriodSeconds ?? 30).toBeGreaterThan(drainSeconds + preStop + 5);
      }
    }
  });
});

describe('.github/workflows/ci.yml', () => {
  it('mirrors .ci/run: npm test on a clean install, with PostgreSQL, Redis and Chromium, then the images', () => {
    const workflow = z
      .object({
        jobs: z.object({
          test: z.object({
            services: z.object({
              postgres: z.object({ image: z.string() }),
              redis: z.object({ image: z.string() }),
            }),
            steps: z.array(z.object({ run: z.string().optional(), uses: z.string().optional() })),
          }),
          images: z.object({ needs: z.literal('test') }),
        }),
      })
      .parse(parse(readFileSync(new URL('../.github/workflows/ci.yml', root), 'utf8')));
    const runs = workflow.jobs.test.steps.flatMap((step) => (step.run === undefined ? [] : [step.run]));
    expect(runs).toEqual(expect.arrayContaining(['npm ci --no-audit --no-fund', 'npm test']));
    expect(runs.join('\n')).toContain('chromium');
    expect(readFileSync(new URL('../.ci/run', root), 'utf8')).toContain('npm test');
  });
});
