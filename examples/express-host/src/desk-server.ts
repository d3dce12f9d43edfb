import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import express from 'express';
import { z } from 'zod';

/**
 * The demo's office MCP server: its tools ask the user for input in the middle of a call (MCP
 * elicitation), so the chat shows a server's form and a server's link. "Find a desk" asks where
 * and when (a form with every kind of field); "Reserve parking" sends the user to its own page
 * (URL mode) and reserves once they confirmed there.
 */
export interface DeskServer {
  /** `http://127.0.0.1:port/mcp` */
  readonly mcpUrl: string;
  /** Desks booked so far, newest last. */
  readonly bookings: DeskBooking[];
  /** Parking reservations confirmed on the server's page, by elicitation id. */
  readonly parking: ReadonlyMap<string, { confirmed: boolean }>;
  stop(): Promise<void>;
}

/** What the user chose on the form. */
export interface DeskBooking {
  readonly building: string;
  readonly floor: number;
  readonly days: readonly string[];
  readonly standing: boolean;
  readonly area?: string | undefined;
  readonly note?: string | undefined;
}

const buildings = [
  { const: 'north', title: 'North building' },
  { const: 'south', title: 'South building' },
] as const;
const weekdays = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday'] as const;

const bookingSchema = z.object({
  building: z.enum(['north', 'south']),
  floor: z.number().int().min(1).max(6),
  days: z.array(z.enum(weekdays)).min(1),
  standing: z.boolean().default(false),
  area: z.enum(['Window', 'Kitchen', 'Quiet zone']).optional(),
  note: z.string().max(200).optional(),
});

function deskMcpServer(
  bookings: DeskBooking[],
  parking: Map<string, { confirmed: boolean }>,
  baseUrl: () => string,
) {
  const server = new McpServer({ name: 'desk', version: '1.0.0' });
  server.registerTool(
    'find_desk',
    {
      title: 'Find a desk',
      description: 'Books a desk in the office; asks the user where and on which days.',
      inputSchema: {},
      annotations: { title: 'Find a desk', readOnlyHint: false },
    },
    async (_args, extra) => {
      const answer = await server.server.elicitInput(
        {
          mode: 'form',
          message: 'Where and when would you like to sit?',
          requestedSchema: {
            type: 'object',
            properties: {
              building: { type: 'string', title: 'Building', oneOf: [...buildings], default: 'north' },
              floor: {
                type: 'integer',
                title: 'Floor',
                description: 'Any floor with desks',
                minimum: 1,
                maximum: 6,
              },
              days: {
                type: 'array',
                title: 'Days',
                description: 'The days this week you come in',
                minItems: 1,
                items: { type: 'string', enum: [...weekdays] },
              },
              standing: { type: 'boolean', title: 'Standing desk', default: false },
              area: { type: 'string', title: 'Near', enum: ['Window', 'Kitchen', 'Quiet zone'] },
              note: { type: 'string', title: 'Note for the office team', maxLength: 200 },
            },
            required: ['building', 'floor', 'days'],
          },
        },
        // About this call: over Streamable HTTP it travels on the call's own response stream.
        { relatedRequestId: extra.requestId },
      );
      if (answer.action !== 'accept')
        return {
          content: [
            {
              type: 'text',
              text: `No desk booked: the user ${answer.action === 'decline' ? 'declined' : 'cancelled'}.`,
            },
          ],
        };
      const booking = bookingSchema.parse(answer.content);
      bookings.push(booking);
      const building = buildings.find((entry) => entry.const === booking.building)?.title ?? booking.building;
      const desk = `${booking.floor}.${String(bookings.length).padStart(2, '0')}`;
      return {
        content: [
          {
            type: 'text',
            text: `Desk ${desk} in the ${building} is booked for ${booking.days.join(', ')}${
              booking.standing ? ' (a standing desk)' : ''
            }${booking.area === undefined ? '' : `, near the ${booking.area.toLowerCase()}`}.`,
          },
        ],
      };
    },
  );
  server.registerTool(
    'reserve_parking',
    {
      title: 'Reserve parking',
      description: 'Reserves a parking space for today; the user confirms on the parking page.',
      inputSchema: {},
      annotations: { title: 'Reserve parking', readOnlyHint: false },
    },
    async (_args, extra) => {
      const elicitationId = randomUUID();
      parking.set(elicitationId, { confirmed: false });
      const answer = await server.server.elicitInput(
        {
          mode: 'url',
          message: 'Confirm the parking space on the parking page.',
          url: `${baseUrl()}/parking/${elicitationId}`,
          elicitationId,
        },
        { relatedRequestId: extra.requestId },
      );
      const confirmed = parking.get(elicitationId)?.confirmed === true;
      const text =
        answer.action !== 'accept'
          ? `No parking reserved: the user ${answer.action === 'decline' ? 'declined' : 'cancelled'}.`
          : confirmed
            ? 'Parking space P-12 is reserved for today.'
            : 'The parking page was not confirmed, so nothing is reserved.';
      return { content: [{ type: 'text', text }] };
    },
  );
  return server;
}

const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title></head><body><main><h1>${title}</h1>${body}</main></body></html>`;

/** Starts the office server: MCP over Streamable HTTP with sessions (elicitation needs them), on 127.0.0.1. */
export async function startDeskServer(): Promise<DeskServer> {
  const bookings: DeskBooking[] = [];
  const parking = new Map<string, { confirmed: boolean }>();
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  let baseUrl = '';
  const app = express();
  app.disable('x-powered-by');
  app.use('/mcp', express.json({ limit: '1mb' }));
  app.post('/mcp', async (request, response) => {
    const sessionId = request.header('mcp-session-id');
    if (sessionId !== undefined) {
      const transport = sessions.get(sessionId);
      if (transport === undefined) {
        response
          .status(404)
          .json({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
        return;
      }
      await transport.handleRequest(request, response, request.body);
      return;
    }
    if (!isInitializeRequest(request.body)) {
      response
        .status(400)
        .json({ jsonrpc: '2.0', error: { code: -32000, message: 'Initialize first' }, id: null });
      return;
    }
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, transport);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
    };
    await deskMcpServer(bookings, parking, () => baseUrl).connect(transport);
    await transport.handleRequest(request, response, request.body);
  });
  const sessionRequest: express.RequestHandler = async (request, response) => {
    const transport = sessions.get(request.header('mcp-session-id') ?? '');
    if (transport === undefined) {
      response
        .status(404)
        .json({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
      return;
    }
    await transport.handleRequest(request, response);
  };
  app.get('/mcp', sessionRequest);
  app.delete('/mcp', sessionRequest);

  // The page a URL-mode request sends the user to: out of the chat's reach, as a payment or a
  // sign-in page would be. Confirming here is what the tool checks after the user says "done".
  app.get('/parking/:id', (request, response) => {
    const reservation = parking.get(request.params.id);
    if (reservation === undefined) {
      response.status(404).type('html').send(page('No such reservation', '<p>This link is not valid.</p>'));
      return;
    }
    response
      .type('html')
      .send(
        page(
          'Reserve parking',
          reservation.confirmed
            ? '<p role="status">Confirmed. You can close this page and go back to the chat.</p>'
            : `<p>Space P-12, today, free of charge.</p><form method="post"><button type="submit">Confirm parking</button></form>`,
        ),
      );
  });
  app.post('/parking/:id', (request, response) => {
    const reservation = parking.get(request.params.id);
    if (reservation !== undefined) reservation.confirmed = true;
    response.redirect(303, `/parking/${encodeURIComponent(request.params.id)}`);
  });

  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const { port } = server.address() as AddressInfo;
  baseUrl = `http://127.0.0.1:${port}`;
  return {
    mcpUrl: `${baseUrl}/mcp`,
    bookings,
    parking,
    stop: async () => {
      await Promise.all([...sessions.values()].map((transport) => transport.close().catch(() => {})));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
