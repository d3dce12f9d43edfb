import type { ToolDefinition } from '@steward/core';
import type { McpRegistry, McpServerStatus } from '@steward/mcp';
import { type Request, type Response, Router } from 'express';
import { humanize, toolTitle } from '../../public/tool-words.js';
import type { HostConnection, HostConnections } from './connection-routes.ts';
import { fieldsOf, formBody } from './form-body.ts';
import type { RouteKit } from './route-kit.ts';
import { formatTime, messagePage, render } from './views.ts';

const connectionWords: Readonly<Record<HostConnection['status'], string>> = {
  connected: 'Connected',
  not_connected: 'Not connected',
  expired: 'Expired: connect again',
};

/** The admin form's fields, in the page's order. */
const fieldNames = ['name', 'url', 'transport', 'read_only_tools', 'service_auth'] as const;
type FieldName = (typeof fieldNames)[number];
type Values = Record<FieldName, string>;

/** Where an issue of the API's 400 belongs on the form. */
const fieldOfPath: Readonly<Record<string, FieldName>> = {
  name: 'name',
  url: 'url',
  transport: 'transport',
  readOnlyTools: 'read_only_tools',
  serviceAuth: 'service_auth',
};

const stateWords: Readonly<Record<string, string>> = {
  connecting: 'Connecting',
  connected: 'Connected',
  reconnecting: 'Reconnecting',
  closed: 'Closed',
};
const circuitWords: Readonly<Record<string, string>> = {
  closed: 'closed (calls go through)',
  open: 'open (calls are refused until it cools down)',
  'half-open': 'half-open (trying again)',
  half_open: 'half-open (trying again)',
};

/** The registration body `POST /api/v1/tools/register` takes, from the form. */
export function registrationOf(values: Values): Record<string, unknown> {
  const readOnly = values.read_only_tools
    .split(/[\s,]+/)
    .map((tool) => tool.trim())
    .filter((tool) => tool !== '');
  return {
    name: values.name.trim(),
    transport: values.transport,
    url: values.url.trim(),
    ...(readOnly.length === 0 ? {} : { readOnlyTools: readOnly }),
    ...(values.service_auth === 'yes' ? { serviceAuth: {} } : {}),
  };
}

/** Field errors from an API error body (`details.issues[]` with a `path`), and what fits no field. */
export function fieldErrorsOf(body: unknown): { fields: Partial<Record<FieldName, string>>; rest?: string } {
  const error = (body as { error?: { message?: unknown; details?: { issues?: unknown } } } | undefined)
    ?.error;
  const issues = Array.isArray(error?.details?.issues) ? (error.details.issues as unknown[]) : [];
  const fields: Partial<Record<FieldName, string>> = {};
  const rest: string[] = [];
  for (const issue of issues) {
    const { path, message } = (issue ?? {}) as { path?: unknown; message?: unknown };
    const first = Array.isArray(path) ? path[0] : typeof path === 'string' ? path.split('.')[0] : undefined;
    const field = typeof first === 'string' ? fieldOfPath[first] : undefined;
    const text = typeof message === 'string' ? message : 'is not valid';
    if (field !== undefined) fields[field] ??= `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
    else rest.push(text);
  }
  if (issues.length === 0 && typeof error?.message === 'string') rest.push(error.message);
  return { fields, ...(rest.length === 0 ? {} : { rest: rest.join('; ') }) };
}

/** The Tools page and the admin's "register a server" form (over `POST /api/v1/tools/register`). */
export function createToolsRoutes(options: {
  kit: RouteKit;
  registry: McpRegistry;
  /** Sends a request to the orchestrator API as this user (a JWT with their roles). */
  callApi: (
    userId: string,
    roles: readonly string[],
    path: string,
    body: unknown,
  ) => Promise<globalThis.Response>;
  /** Connects to a registration without keeping it (the operator's policy applies) and lists its tools. */
  testServer: (registration: Record<string, unknown>) => Promise<readonly ToolDefinition[]>;
  allowedOrigins: readonly string[];
  /** The signed-in user's own connections to OAuth servers, with Connect and Disconnect. */
  connections?: Pick<HostConnections, 'list'>;
}): Router {
  const { kit, registry } = options;
  const { signedIn, noStore, sessions } = kit;
  const router = Router();

  router.get('/tools', noStore, signedIn, async (request, response) => {
    const { user } = kit.sessionOf(response);
    const definitions = await registry.listTools();
    const statuses: readonly McpServerStatus[] = registry.status();
    const connections = new Map(
      ((await options.connections?.list(user)) ?? []).map((connection) => [connection.server, connection]),
    );
    const servers = await Promise.all(
      statuses.map(async (server) => {
        const tools = definitions
          .filter((tool) => tool.name.startsWith(`${server.name}__`))
          .map((tool) => ({
            title: toolTitle(tool.name, tool.annotations?.title).title,
            description: tool.description,
            approval: tool.sideEffect,
          }));
        const connection = connections.get(server.name);
        return {
          name: server.name,
          label: humanize(server.name),
          state: stateWords[server.state] ?? server.state,
          healthy: server.state === 'connected' && server.circuit === 'closed',
          circuit: circuitWords[server.circuit] ?? server.circuit,
          toolCount: server.tools,
          reconnects: server.reconnects,
          tools,
          ...(server.lastError === undefined ? {} : { lastError: server.lastError }),
          ...(connection === undefined
            ? {}
            : {
                connection: {
                  status: connection.status,
                  words: connectionWords[connection.status],
                  ...(connection.connectedAt === undefined
                    ? {}
                    : { since: formatTime(connection.connectedAt) }),
                },
              }),
        };
      }),
    );
    const query = (name: string) => {
      const value = request.query[name];
      return typeof value === 'string' && value !== '' ? humanize(value.slice(0, 64)) : undefined;
    };
    const connected = query('connected');
    const disconnected = query('disconnected');
    const notice =
      connected !== undefined
        ? `Connected ${connected}.`
        : disconnected !== undefined
          ? `Disconnected ${disconnected}.`
          : undefined;
    response.type('html').send(
      render('tools', kit.frame(request, response, '/tools', 'Tools'), {
        servers,
        ...(notice === undefined ? {} : { notice }),
      }),
    );
  });

  const adminOnly = (_request: Request, response: Response) => {
    if (kit.sessionOf(response).roles.includes('admin')) return true;
    response
      .status(403)
      .type('html')
      .send(messagePage('Administrators only', 'Registering a server needs the admin role.'));
    return false;
  };

  const valuesOf = (request: Request): Values => {
    const fields = fieldsOf(request);
    const text = (name: FieldName, fallback = '') =>
      typeof fields[name] === 'string' ? (fields[name] as string) : fallback;
    return {
      name: text('name').slice(0, 200),
      url: text('url').slice(0, 2_000),
      transport: text('transport', 'streamable-http') === 'sse' ? 'sse' : 'streamable-http',
      read_only_tools: text('read_only_tools').slice(0, 2_000),
      service_auth: text('service_auth') === 'yes' ? 'yes' : 'no',
    };
  };

  const page = (
    request: Request,
    response: Response,
    values: Values,
    extra: {
      fields?: Partial<Record<FieldName, string>>;
      formError?: string;
      registered?: string;
      tested?: readonly ToolDefinition[];
    } = {},
  ) =>
    render('admin', kit.frame(request, response, '/admin/servers', 'Register a server'), {
      allowedOrigins: options.allowedOrigins,
      fields: [
        {
          name: 'name',
          label: 'Name',
          value: values.name,
          placeholder: 'calendar',
          hint: 'Letters, digits, - and _; tools appear as name__tool.',
        },
        { name: 'url', label: 'URL', value: values.url, placeholder: 'https://mcp.example.com/mcp' },
        {
          name: 'transport',
          label: 'Transport',
          value: values.transport,
          options: [
            { value: 'streamable-http', label: 'Streamable HTTP' },
            { value: 'sse', label: 'HTTP with server-sent events (older servers)' },
          ],
        },
        {
          name: 'read_only_tools',
          label: 'Read-only tools',
          value: values.read_only_tools,
          hint: 'Comma-separated names that run without asking; every other tool asks first.',
        },
        {
          name: 'service_auth',
          label: 'Service token',
          value: values.service_auth,
          options: [
            { value: 'no', label: 'None' },
            { value: 'yes', label: 'Send a signed service token for this server’s origin' },
          ],
        },
      ].map((field) => ({ ...field, error: extra.fields?.[field.name as FieldName] })),
      ...(extra.formError === undefined ? {} : { formError: extra.formError }),
      ...(extra.registered === undefined ? {} : { registered: extra.registered }),
      ...(extra.tested === undefined
        ? {}
        : {
            tested: extra.tested.map((tool) => ({
              title: toolTitle(tool.name, tool.annotations?.title).title,
              description: tool.description,
            })),
          }),
    });

  const empty: Values = {
    name: '',
    url: '',
    transport: 'streamable-http',
    read_only_tools: '',
    service_auth: 'no',
  };

  router.get('/admin/servers', noStore, signedIn, (request, response) => {
    if (!adminOnly(request, response)) return;
    const registered =
      typeof request.query.registered === 'string' ? request.query.registered.slice(0, 100) : undefined;
    response
      .type('html')
      .send(page(request, response, empty, registered === undefined ? {} : { registered }));
  });

  router.post(
    '/admin/servers/test',
    noStore,
    formBody,
    signedIn,
    sessions.csrfProtection,
    async (request, response) => {
      if (!adminOnly(request, response)) return;
      const values = valuesOf(request);
      try {
        const tested = await options.testServer(registrationOf(values));
        response.type('html').send(page(request, response, values, { tested }));
      } catch (error) {
        const details = (error as { details?: unknown }).details;
        const { fields, rest } = fieldErrorsOf({ error: { message: (error as Error).message, details } });
        response
          .status(400)
          .type('html')
          .send(
            page(request, response, values, { fields, ...(rest === undefined ? {} : { formError: rest }) }),
          );
      }
    },
  );

  router.post(
    '/admin/servers',
    noStore,
    formBody,
    signedIn,
    sessions.csrfProtection,
    async (request, response) => {
      if (!adminOnly(request, response)) return;
      const { user, roles } = kit.sessionOf(response);
      const values = valuesOf(request);
      const answer = await options.callApi(user, roles, '/api/v1/tools/register', registrationOf(values));
      const body = (await answer.json().catch(() => ({}))) as unknown;
      if (answer.status === 201) {
        response.redirect(303, `/admin/servers?registered=${encodeURIComponent(values.name.trim())}`);
        return;
      }
      const { fields, rest } = fieldErrorsOf(body);
      response
        .status(answer.status >= 500 ? 502 : 400)
        .type('html')
        .send(
          page(request, response, values, { fields, ...(rest === undefined ? {} : { formError: rest }) }),
        );
    },
  );

  return router;
}
