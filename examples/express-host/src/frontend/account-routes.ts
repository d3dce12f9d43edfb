import { Router } from 'express';
import { z } from 'zod';
import { toolTitle } from '../../public/tool-words.js';
import type { HostStore } from '../identity/host-store.ts';
import type { RefreshTokenStore } from '../identity/refresh-tokens.ts';
import { addUsage, type ChatBackend } from './backend.ts';
import { fieldsOf, formBody, refuse } from './form-body.ts';
import { firstIssue, type RouteKit } from './route-kit.ts';
import { formatTime, messagePage, render } from './views.ts';

const revokeSchema = z.object({
  tool_name: z
    .string({ error: 'Choose a tool' })
    .min(1)
    .max(256)
    .regex(/^[\x21-\x7e]+$/, 'Not a tool name'),
  session_id: z.uuid().optional(),
});
const notices: Readonly<Record<string, string>> = {
  revoked: 'Revoked: that tool asks you again next time.',
  'not-revoked': 'That permission was already gone.',
};

/** Conversations (list, delete) and settings (permissions, usage, export, delete my data). */
export function createAccountRoutes(options: {
  kit: RouteKit;
  backend: ChatBackend;
  store: HostStore;
  refreshTokens: RefreshTokenStore;
  toolTitles: () => Promise<Readonly<Record<string, string>>>;
}): Router {
  const { kit, backend, store, refreshTokens } = options;
  const { signedIn, noStore, sessions } = kit;
  const router = Router();

  router.get('/conversations', noStore, signedIn, async (request, response) => {
    const { user } = kit.sessionOf(response);
    const items = (await store.listConversations(user)).map((item) => ({
      id: item.id,
      title: item.title,
      updatedAt: item.updatedAt,
      updated: formatTime(item.updatedAt),
    }));
    response
      .type('html')
      .send(
        render('conversations', kit.frame(request, response, '/conversations', 'Conversations'), { items }),
      );
  });

  router.post(
    '/conversations/:sid/delete',
    noStore,
    formBody,
    signedIn,
    sessions.csrfProtection,
    async (request, response) => {
      const { user, sid } = kit.sessionOf(response);
      const target = z.uuid().safeParse(request.params.sid);
      if (!target.success || !(await store.deleteConversation(user, target.data))) {
        refuse(request, response, 404, 'not_found', 'There is no such conversation.');
        return;
      }
      // The page no longer lists or opens it; /chat moves on to a new conversation.
      if (target.data === sid) sessions.open(request, crypto.randomUUID());
      if (request.accepts(['html', 'json']) === 'json') response.json({ deleted: target.data });
      else response.redirect(303, '/conversations');
    },
  );

  /** Usage over the runs of the user's listed conversations. */
  async function usageOf(user: string) {
    const runIds = new Set<string>();
    for (const conversation of await store.listConversations(user))
      for (const stored of await backend.history(user, conversation.id)) runIds.add(stored.runId);
    const runs = await Promise.all([...runIds].map((id) => backend.run(user, id)));
    return addUsage(runs.map((run) => run?.usage));
  }

  router.get('/settings', noStore, signedIn, async (request, response) => {
    const { user } = kit.sessionOf(response);
    const titles = await options.toolTitles();
    const permissions = (await backend.permissions(user)).map((permission) => {
      const { title, server } = toolTitle(permission.toolName, titles[permission.toolName]);
      return {
        toolName: permission.toolName,
        title: server === '' ? title : `${title} (${server})`,
        scope: permission.sessionId === undefined ? 'Always' : 'In one conversation',
        since: formatTime(permission.grantedAt),
        ...(permission.sessionId === undefined ? {} : { sessionId: permission.sessionId }),
      };
    });
    const notice = typeof request.query.notice === 'string' ? notices[request.query.notice] : undefined;
    response.type('html').send(
      render('settings', kit.frame(request, response, '/settings', 'Settings'), {
        permissions,
        usage: await usageOf(user),
        ...(notice === undefined ? {} : { notice }),
      }),
    );
  });

  router.post(
    '/settings/permissions/revoke',
    noStore,
    formBody,
    signedIn,
    sessions.csrfProtection,
    async (request, response) => {
      const { user } = kit.sessionOf(response);
      const parsed = revokeSchema.safeParse(fieldsOf(request));
      if (!parsed.success) {
        const { message, field } = firstIssue(parsed.error, 'Invalid permission');
        refuse(request, response, 400, 'invalid_request', message, field);
        return;
      }
      const revoked = await backend.revokePermission(user, parsed.data.tool_name, parsed.data.session_id);
      if (request.accepts(['html', 'json']) === 'json') response.json({ revoked });
      else response.redirect(303, `/settings?notice=${revoked ? 'revoked' : 'not-revoked'}`);
    },
  );

  router.get('/settings/export', noStore, signedIn, async (_request, response) => {
    const { user } = kit.sessionOf(response);
    const conversations = [];
    for (const conversation of await store.listConversations(user))
      conversations.push({
        ...conversation,
        messages: (await backend.history(user, conversation.id)).map((stored) => ({
          id: stored.id,
          run_id: stored.runId,
          created_at: stored.createdAt,
          ...stored.message,
        })),
      });
    const profile = await store.getUser(user);
    const exported = {
      exported_at: new Date().toISOString(),
      user: profile ?? { id: user },
      conversations,
      permissions: await backend.permissions(user),
      audit: await backend.audit(user),
      usage: await usageOf(user),
    };
    response
      .type('application/json')
      .attachment('steward-my-data.json')
      .send(JSON.stringify(exported, null, 2));
  });

  router.post(
    '/settings/delete-data',
    noStore,
    formBody,
    signedIn,
    sessions.csrfProtection,
    async (request, response) => {
      const { user } = kit.sessionOf(response);
      if (fieldsOf(request).confirm !== 'yes') {
        refuse(request, response, 400, 'invalid_request', 'Tick the box to confirm first.', 'confirm');
        return;
      }
      const { deleted } = await backend.deleteUserData(user);
      await refreshTokens.delete(user);
      await store.deleteUser(user);
      await sessions.end(request, response);
      response
        .type('html')
        .send(
          messagePage(
            'Your data is deleted',
            deleted
              ? 'Your conversations, permissions, usage and account are deleted, and you are signed out.'
              : 'Your conversation list, permissions and account are deleted, and you are signed out. This demo keeps conversations in memory: their messages go when it restarts.',
            { back: '/login', backLabel: 'Sign in again' },
          ),
        );
    },
  );

  return router;
}
