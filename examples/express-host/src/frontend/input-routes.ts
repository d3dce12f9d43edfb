import { type InputResponse, isStewardError } from '@steward/core';
import { Router } from 'express';
import { z } from 'zod';
import { contentOf, fieldPrefix } from '../../public/input-form.js';
import type { ChatBackend } from './backend.ts';
import { fieldsOf, formBody, refuse } from './form-body.ts';
import { idPattern, type RouteKit, wantsJson } from './route-kit.ts';
import { messagePage } from './views.ts';

const actionSchema = z.enum(['accept', 'decline', 'cancel'], { error: 'Choose Send, Decline or Cancel' });

/** A problem with one field of the form, named as the form names it. */
interface FieldIssue {
  readonly field: string;
  readonly message: string;
}

/** Core's `details.issues` of an `invalid_input` (`{ path, message }`), as the form's fields. */
function issuesOf(details: unknown): FieldIssue[] {
  const issues = (details as { issues?: unknown } | undefined)?.issues;
  if (!Array.isArray(issues)) return [];
  return issues.map((issue) => {
    const { path, message } = (issue ?? {}) as { path?: unknown; message?: unknown };
    return {
      field: typeof path === 'string' && path !== '(content)' ? `${fieldPrefix}${path}` : '',
      message: typeof message === 'string' ? message : 'is not valid',
    };
  });
}

/**
 * Answers a tool's request for input (MCP elicitation) from the chat: the card's form posts
 * here, with or without script. The form's fields are read by the request's own schema (numbers,
 * checkboxes, several choices), then core checks the content against it once more before the
 * tool gets it; a refusal says which field, and the request stays open.
 */
export function createInputRoutes(options: {
  kit: RouteKit;
  backend: ChatBackend;
  formWaitMs: number;
}): Router {
  const { kit, backend, formWaitMs } = options;
  const { signedIn, noStore, sessions } = kit;
  const router = Router();

  router.post(
    '/chat/runs/:runId/inputs/:requestId',
    noStore,
    formBody,
    signedIn,
    sessions.csrfProtection,
    async (request, response) => {
      const { user } = kit.sessionOf(response);
      const runId = String(request.params.runId);
      const requestId = String(request.params.requestId);
      const run = idPattern.test(runId) ? await backend.run(user, runId) : undefined;
      if (run === undefined || !idPattern.test(requestId)) {
        refuse(request, response, 404, 'not_found', 'There is no such answer.');
        return;
      }
      const fields = fieldsOf(request);
      const action = actionSchema.safeParse(fields.action);
      if (!action.success) {
        refuse(request, response, 400, 'invalid_request', 'Choose Send, Decline or Cancel', 'action');
        return;
      }
      const asked = (await backend.pendingInputs(user, run.id)).find(
        (event) => event.request_id === requestId,
      );
      if (asked === undefined) {
        refuse(
          request,
          response,
          409,
          'input_conflict',
          'That question was already answered, or it expired.',
        );
        return;
      }
      let answer: InputResponse = { action: action.data };
      let issues: FieldIssue[] = [];
      if (action.data === 'accept' && asked.mode === 'form') {
        const read = contentOf(asked.requested_schema, fields);
        issues = read.issues.map((issue) => ({
          field: `${fieldPrefix}${issue.path}`,
          message: issue.message,
        }));
        answer = { action: 'accept', content: read.content };
      }
      if (issues.length === 0) {
        try {
          await backend.respondToInput(user, run.id, requestId, answer);
        } catch (error) {
          if (!isStewardError(error)) throw error;
          if (error.code === 'invalid_input') issues = issuesOf(error.details);
          else if (error.code === 'input_conflict' || error.code === 'input_not_found') {
            refuse(
              request,
              response,
              409,
              'input_conflict',
              'That question was already answered, or it expired.',
            );
            return;
          } else throw error;
          if (issues.length === 0) issues = [{ field: '', message: error.message }];
        }
      }
      if (issues.length > 0) {
        const labels = new Map(
          Object.entries(asked.requested_schema?.properties ?? {}).map(([name, field]) => [
            `${fieldPrefix}${name}`,
            field.title ?? name,
          ]),
        );
        const text = issues
          .map((issue) => `${labels.get(issue.field) ?? 'The form'}: ${issue.message}`)
          .join('; ');
        if (wantsJson(request)) {
          response.status(400).json({ error: { code: 'invalid_request', message: text, issues } });
          return;
        }
        response
          .status(400)
          .type('html')
          .send(
            messagePage('Check your answer', text, {
              back: `/chat/${run.sessionId}`,
              backLabel: 'Back to the form',
            }),
          );
        return;
      }
      if (wantsJson(request)) {
        response.json({ request_id: requestId, action: action.data });
        return;
      }
      await backend.settle(user, run.id, formWaitMs);
      response.redirect(303, `/chat/${run.sessionId}`);
    },
  );

  return router;
}
