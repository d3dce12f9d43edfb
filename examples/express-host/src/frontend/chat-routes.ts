import { type Assistant, isStewardError } from '@steward/core';
import type { Authenticator } from '@steward/transport-ws';
import { type Request, type RequestHandler, type Response, Router } from 'express';
import { z } from 'zod';
import { fieldsOf, formBody, refuse } from './form-body.ts';
import { type ChatView, chatPage, loginPage } from './pages.ts';
import type { WebSession, WebSessions } from './session.ts';
import { usernameSchema } from './session.ts';
import { settleRun } from './settle.ts';

// Control characters other than tab and line breaks (a textarea sends \r\n): NUL and friends
// have no place in a chat message and some storage engines refuse them.
const controlCharacter = /[^\P{Cc}\t\n\r]/u;
const messageSchema = z
  .string({ error: 'Write a message first' })
  .trim()
  .min(1, 'Write a message first')
  .max(4_000, 'At most 4,000 characters')
  .refine((text) => !controlCharacter.test(text), 'Remove the control characters from the message');
const decisionSchema = z.object({
  call_id: z
    .string({ error: 'Choose a call to decide' })
    .min(1, 'Choose a call to decide')
    .max(512, 'Not a call id')
    .regex(/^[\x21-\x7e]+$/, 'Not a call id'),
  decision: z.enum(['approve', 'deny'], { error: 'Choose approve or deny' }),
});
const problemOf: Partial<Record<string, string>> = {
  failed: 'The last answer stopped early because of an error.',
  aborted: 'The last answer was stopped.',
  interrupted: 'The last answer was interrupted.',
};

const wantsJson = (request: Request) => request.accepts(['html', 'json']) === 'json';

/** The first problem of a failed parse: its message and the field it is about. */
function firstIssue(error: z.ZodError, fallback: string): { message: string; field: string | undefined } {
  const issue = error.issues[0];
  const field = issue?.path[0];
  return { message: issue?.message ?? fallback, field: typeof field === 'string' ? field : undefined };
}

/** The login, chat, send and approval routes, over the Assistant directly (Flask's view functions). */
export function createChatRoutes(options: {
  assistant: Assistant;
  auth: Authenticator;
  sessions: WebSessions;
  formWaitMs: number;
}): Router {
  const { assistant, auth, sessions, formWaitMs } = options;
  const router = Router();

  /** Lets only signed-in users through, with their session in `response.locals.session`. */
  const signedIn: RequestHandler = (request, response, next) => {
    const session = sessions.read(request);
    if (session !== undefined) {
      response.locals.session = session;
      next();
    } else if (wantsJson(request)) refuse(request, response, 401, 'unauthorized', 'Sign in first');
    else response.redirect(303, '/login');
  };
  const sessionOf = (response: Response) => response.locals.session as WebSession;
  const noStore: RequestHandler = (_request, response, next) => {
    response.setHeader('cache-control', 'no-store');
    next();
  };

  router.get('/', (request, response) => {
    response.redirect(303, sessions.read(request) === undefined ? '/login' : '/chat');
  });

  router.get('/login', noStore, (request, response) => {
    if (sessions.read(request) !== undefined) {
      response.redirect(303, '/chat');
      return;
    }
    response.type('html').send(loginPage({ csrf: sessions.csrfToken(request, response) }));
  });

  router.post('/login', noStore, formBody, sessions.csrfProtection, async (request, response) => {
    const raw = fieldsOf(request).username;
    const username = usernameSchema.safeParse(raw);
    if (!username.success) {
      response
        .status(400)
        .type('html')
        .send(
          loginPage({
            csrf: sessions.csrfToken(request, response),
            error: username.error.issues[0]?.message ?? 'Invalid username',
            ...(typeof raw === 'string' ? { username: raw.slice(0, 64) } : {}),
          }),
        );
      return;
    }
    await sessions.start(request, username.data);
    response.redirect(303, '/chat');
  });

  router.post('/logout', noStore, formBody, signedIn, sessions.csrfProtection, async (request, response) => {
    await sessions.end(request, response);
    response.redirect(303, '/login');
  });

  router.get('/chat', noStore, signedIn, async (request, response) => {
    const { user, sid } = sessionOf(response);
    const scope = { userId: user };
    // Scoped to the signed-in user: another user's session reads as empty, whatever the id.
    const history = await assistant.getHistory(sid, scope);
    const lastRunId = history.at(-1)?.runId;
    const lastRun = lastRunId === undefined ? undefined : await assistant.getRun(lastRunId, scope);
    const active =
      lastRun !== undefined && (lastRun.status === 'running' || lastRun.status === 'awaiting_approval')
        ? { id: lastRun.id, status: lastRun.status }
        : undefined;
    const approvals =
      lastRun?.status === 'awaiting_approval' ? await assistant.storage.listApprovals(lastRun.id, scope) : [];
    const problem = lastRun === undefined ? undefined : problemOf[lastRun.status];
    const view: ChatView = {
      user,
      csrf: sessions.csrfToken(request, response),
      history,
      pendingApprovals: approvals.filter((approval) => approval.status === 'pending'),
      ...(active === undefined ? {} : { activeRun: active }),
      ...(problem === undefined ? {} : { lastRunProblem: problem }),
    };
    response.type('html').send(chatPage(view));
  });

  router.post(
    '/chat/send',
    noStore,
    formBody,
    signedIn,
    sessions.csrfProtection,
    async (request, response) => {
      const { user, sid } = sessionOf(response);
      const message = messageSchema.safeParse(fieldsOf(request).message);
      if (!message.success) {
        const { message: text } = firstIssue(message.error, 'Invalid message');
        refuse(request, response, 400, 'invalid_request', text, 'message');
        return;
      }
      let runId: string;
      try {
        runId = (await assistant.start({ input: message.data, userId: user, sessionId: sid })).id;
      } catch (error) {
        if (isStewardError(error) && error.code === 'session_busy') {
          refuse(
            request,
            response,
            409,
            'session_busy',
            'The assistant is still answering. Wait for it first.',
          );
          return;
        }
        if (isStewardError(error) && error.code === 'rate_limited') {
          refuse(request, response, 429, 'rate_limited', 'Too many messages; try again in a minute.');
          return;
        }
        if (isStewardError(error) && error.code === 'invalid_input') {
          refuse(request, response, 400, 'invalid_request', 'That message cannot be sent.', 'message');
          return;
        }
        throw error;
      }
      if (wantsJson(request)) {
        // Pattern B: the browser streams the run straight from /ws with a token for this run only.
        const token = await auth.issueRunToken({ userId: user, runId });
        response.status(202).json({ run_id: runId, session_id: sid, token });
        return;
      }
      await settleRun(assistant, runId, user, formWaitMs);
      response.redirect(303, '/chat');
    },
  );

  router.post(
    '/chat/approvals',
    noStore,
    formBody,
    signedIn,
    sessions.csrfProtection,
    async (request, response) => {
      const { user, sid } = sessionOf(response);
      const parsed = decisionSchema.safeParse(fieldsOf(request));
      if (!parsed.success) {
        const { message, field } = firstIssue(parsed.error, 'Invalid decision');
        refuse(request, response, 400, 'invalid_request', message, field);
        return;
      }
      const scope = { userId: user };
      const approval = await assistant.storage.getApproval(parsed.data.call_id, scope);
      if (approval === undefined || approval.sessionId !== sid) {
        refuse(request, response, 404, 'approval_not_found', 'There is no such approval in this chat.');
        return;
      }
      try {
        if (parsed.data.decision === 'approve') await assistant.approve(approval.callId, scope);
        else await assistant.deny(approval.callId, { ...scope, reason: 'denied in the chat page' });
      } catch (error) {
        if (
          isStewardError(error) &&
          (error.code === 'approval_conflict' || error.code === 'approval_expired')
        ) {
          refuse(request, response, 409, error.code, 'That call was already decided, or it expired.');
          return;
        }
        throw error;
      }
      if (wantsJson(request)) {
        response.json({ call_id: approval.callId, decision: parsed.data.decision });
        return;
      }
      await settleRun(assistant, approval.runId, user, formWaitMs);
      response.redirect(303, '/chat');
    },
  );

  // A fresh run token for a reconnect after the first one expired (they live five minutes).
  router.post(
    '/chat/runs/:runId/token',
    noStore,
    signedIn,
    sessions.csrfProtection,
    async (request, response) => {
      const { user, sid } = sessionOf(response);
      const runId = String(request.params.runId);
      // An id no run could have is simply not found, before any storage sees it.
      const run = /^[\x21-\x7e]{1,200}$/.test(runId)
        ? await assistant.getRun(runId, { userId: user })
        : undefined;
      if (run === undefined || run.sessionId !== sid) {
        refuse(request, response, 404, 'not_found', `Run ${runId} does not exist`);
        return;
      }
      response.json({ run_id: runId, token: await auth.issueRunToken({ userId: user, runId }) });
    },
  );

  return router;
}
