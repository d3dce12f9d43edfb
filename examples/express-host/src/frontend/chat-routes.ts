import { randomUUID } from 'node:crypto';
import { isStewardError, type RunRecord } from '@steward/core';
import { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import type { HostStore } from '../identity/host-store.ts';
import type { ChatBackend } from './backend.ts';
import { buildTurns } from './chat-view.ts';
import { fieldsOf, formBody, refuse } from './form-body.ts';
import { firstIssue, idPattern, type RouteKit, wantsJson } from './route-kit.ts';
import { messagePage, render } from './views.ts';

// Control characters other than tab and line breaks (a textarea sends \r\n): NUL and friends
// have no place in a chat message and some storage engines refuse them.
const controlCharacter = /[^\P{Cc}\t\n\r]/u;
const messageSchema = z
  .string({ error: 'Write a message first' })
  .trim()
  .min(1, 'Write a message first')
  .max(4_000, 'At most 4,000 characters')
  .refine((text) => !controlCharacter.test(text), 'Remove the control characters from the message');
const conversationSchema = z.uuid({ error: 'Not a conversation' });
const decisionSchema = z.object({
  call_id: z
    .string({ error: 'Choose a call to decide' })
    .min(1, 'Choose a call to decide')
    .max(512, 'Not a call id')
    .regex(/^[\x21-\x7e]+$/, 'Not a call id'),
  decision: z.enum(['approve', 'deny', 'always'], { error: 'Choose approve, always or deny' }),
});
const live = (run: RunRecord | undefined) => run?.status === 'running' || run?.status === 'awaiting_approval';

/** The chat: a conversation's page, sending, approvals, stop and the run token for the page's stream. */
export function createChatRoutes(options: {
  kit: RouteKit;
  backend: ChatBackend;
  store: HostStore;
  formWaitMs: number;
  /** Tool titles by the name the model sees (`gmail__GMAIL_SEND_EMAIL`), from the MCP servers. */
  toolTitles: () => Promise<Readonly<Record<string, string>>>;
}): Router {
  const { kit, backend, store, formWaitMs } = options;
  const { signedIn, noStore, sessions } = kit;
  const router = Router();

  async function renderChat(request: Request, response: Response, sid: string) {
    const { user } = kit.sessionOf(response);
    // Scoped to the signed-in user: another user's conversation reads as empty, whatever the id.
    const [history, conversation, titles] = await Promise.all([
      backend.history(user, sid),
      store.getConversation(user, sid),
      options.toolTitles(),
    ]);
    if (conversation === undefined && history.length > 0) {
      // Deleted from the list: it is gone for the pages.
      response.status(404).type('html').send(messagePage('Not found', 'That conversation was deleted.'));
      return;
    }
    sessions.open(request, sid);
    const runIds = [...new Set(history.map((stored) => stored.runId))];
    const runs = new Map<string, RunRecord>();
    for (const run of await Promise.all(runIds.map((id) => backend.run(user, id))))
      if (run !== undefined) runs.set(run.id, run);
    const last = runs.get(runIds.at(-1) ?? '');
    const active = live(last) ? last : undefined;
    const pending =
      active?.status === 'awaiting_approval'
        ? (await backend.approvals(user, active.id)).filter((approval) => approval.status === 'pending')
        : [];
    const inputs = active?.status === 'running' ? await backend.pendingInputs(user, active.id) : [];
    const lastUser = [...history].reverse().find((stored) => stored.message.role === 'user')?.message;
    const failed =
      last !== undefined && !live(last) && (last.status !== 'completed' || last.partial === true);
    const frame = kit.frame(request, response, '/chat', conversation?.title ?? 'New conversation');
    response.type('html').send(
      render(
        'chat',
        // The page without script reloads itself while the answer comes, not while a form waits.
        { ...frame, refresh: active?.status === 'running' && inputs.length === 0 },
        {
          heading: conversation?.title ?? 'New conversation',
          sessionId: sid,
          selfUrl: `/chat/${sid}`,
          toolTitles: JSON.stringify(titles),
          turns: buildTurns(history, runs, pending, titles, active?.id, inputs),
          ...(active === undefined ? {} : { activeRun: { id: active.id, status: active.status } }),
          ...(failed && lastUser?.role === 'user' ? { retry: lastUser.content } : {}),
        },
      ),
    );
  }

  router.get('/', (request, response) => {
    response.redirect(303, sessions.read(request) === undefined ? '/login' : '/chat');
  });

  router.get('/chat', noStore, signedIn, (request, response) =>
    renderChat(request, response, kit.sessionOf(response).sid),
  );

  router.get('/chat/new', noStore, signedIn, (request, response) => {
    const sid = randomUUID();
    sessions.open(request, sid);
    response.redirect(303, `/chat/${sid}`);
  });

  router.get('/chat/:sid', noStore, signedIn, async (request, response) => {
    const sid = conversationSchema.safeParse(request.params.sid);
    if (!sid.success) {
      response.status(404).type('html').send(messagePage('Not found', 'There is no such conversation.'));
      return;
    }
    await renderChat(request, response, sid.data);
  });

  /** The conversation a form names (`session_id`), or the one `/chat` opens. */
  const conversationOf = (request: Request, response: Response): string | undefined => {
    const field = fieldsOf(request).session_id;
    if (field === undefined || field === '') return kit.sessionOf(response).sid;
    const parsed = conversationSchema.safeParse(field);
    return parsed.success ? parsed.data : undefined;
  };

  router.post(
    '/chat/send',
    noStore,
    formBody,
    signedIn,
    sessions.csrfProtection,
    async (request, response) => {
      const { user } = kit.sessionOf(response);
      const sid = conversationOf(request, response);
      if (sid === undefined) {
        refuse(request, response, 400, 'invalid_request', 'Not a conversation', 'session_id');
        return;
      }
      const message = messageSchema.safeParse(fieldsOf(request).message);
      if (!message.success) {
        const { message: text } = firstIssue(message.error, 'Invalid message');
        refuse(request, response, 400, 'invalid_request', text, 'message');
        return;
      }
      let runId: string;
      try {
        runId = (await backend.start(user, sid, message.data)).runId;
      } catch (error) {
        const code = isStewardError(error) ? error.code : undefined;
        if (code === 'session_busy') {
          refuse(
            request,
            response,
            409,
            'session_busy',
            'The assistant is still answering. Wait for it, or stop it first.',
          );
          return;
        }
        if (code === 'rate_limited' || code === 'too_many_active_runs') {
          refuse(request, response, 429, 'rate_limited', 'Too many messages; try again in a minute.');
          return;
        }
        if (code === 'session_not_found') {
          refuse(request, response, 404, 'not_found', 'There is no such conversation.', 'session_id');
          return;
        }
        throw error;
      }
      await store.touchConversation(user, sid, message.data);
      if (wantsJson(request)) {
        response
          .status(202)
          .json({ run_id: runId, session_id: sid, token: await backend.runToken(user, runId) });
        return;
      }
      await backend.settle(user, runId, formWaitMs);
      response.redirect(303, `/chat/${sid}`);
    },
  );

  router.post(
    '/chat/approvals',
    noStore,
    formBody,
    signedIn,
    sessions.csrfProtection,
    async (request, response) => {
      const { user } = kit.sessionOf(response);
      const parsed = decisionSchema.safeParse(fieldsOf(request));
      if (!parsed.success) {
        const { message, field } = firstIssue(parsed.error, 'Invalid decision');
        refuse(request, response, 400, 'invalid_request', message, field);
        return;
      }
      const approval = await backend.approval(user, parsed.data.call_id);
      if (approval === undefined) {
        refuse(
          request,
          response,
          404,
          'approval_not_found',
          'There is no such approval in your conversations.',
        );
        return;
      }
      const { decision } = parsed.data;
      try {
        await backend.decide(user, approval.callId, decision === 'deny' ? 'deny' : 'approve', {
          always: decision === 'always',
        });
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
        response.json({ call_id: approval.callId, decision });
        return;
      }
      await backend.settle(user, approval.runId, formWaitMs);
      response.redirect(303, `/chat/${approval.sessionId}`);
    },
  );

  /** The signed-in user's run, or a 404 (an id no run could have never reaches storage). */
  async function runOf(request: Request, response: Response): Promise<RunRecord | undefined> {
    const runId = String(request.params.runId);
    const run = idPattern.test(runId) ? await backend.run(kit.sessionOf(response).user, runId) : undefined;
    if (run === undefined) refuse(request, response, 404, 'not_found', 'There is no such answer.');
    return run;
  }

  // A fresh run token for a reconnect after the first one expired (they live five minutes), or
  // for another tab that streams the same run.
  router.post(
    '/chat/runs/:runId/token',
    noStore,
    signedIn,
    sessions.csrfProtection,
    async (request, response) => {
      const run = await runOf(request, response);
      if (run === undefined) return;
      response.json({ run_id: run.id, token: await backend.runToken(run.userId, run.id) });
    },
  );

  router.post(
    '/chat/runs/:runId/stop',
    noStore,
    formBody,
    signedIn,
    sessions.csrfProtection,
    async (request, response) => {
      const run = await runOf(request, response);
      if (run === undefined) return;
      await backend.stop(run.userId, run.id);
      if (wantsJson(request)) {
        response.status(202).json({ run_id: run.id, stopping: true });
        return;
      }
      await backend.settle(run.userId, run.id, formWaitMs);
      response.redirect(303, `/chat/${run.sessionId}`);
    },
  );

  return router;
}
