import { z } from 'zod';
import { recordConversation } from '../../../server/conversations.ts';
import { historyOf } from '../../../server/orchestrator.ts';
import { currentUser } from '../../../server/session.ts';

const bodySchema = z
  .object({ session_id: z.string().min(1).max(256), title: z.string().max(2_000) })
  .strict();

/**
 * Adds a conversation the browser started on the orchestrator to the user's list. The
 * orchestrator is asked whether the session is really this user's before it is listed.
 */
export async function POST(request: Request): Promise<Response> {
  const user = await currentUser();
  if (user === undefined)
    return Response.json({ error: { code: 'unauthorized', message: 'Sign in first' } }, { status: 401 });
  // JSON only: a cross-site form cannot send it, and a cross-site fetch of it needs CORS we never grant.
  if (!request.headers.get('content-type')?.startsWith('application/json'))
    return Response.json({ error: { code: 'invalid_request', message: 'Send JSON' } }, { status: 415 });
  const body = bodySchema.safeParse(await request.json().catch(() => undefined));
  if (!body.success)
    return Response.json(
      { error: { code: 'invalid_request', message: body.error.message } },
      { status: 400 },
    );
  if ((await historyOf(user, body.data.session_id)) === undefined)
    return Response.json({ error: { code: 'not_found', message: 'No such conversation' } }, { status: 404 });
  return Response.json(recordConversation(user.userId, body.data.session_id, body.data.title), {
    status: 201,
  });
}
