import type { Metadata } from 'next';
import { ConnectionCallback } from '../../../components/connection-callback.tsx';
import { hostConfig } from '../../../server/config.ts';
import { currentUser } from '../../../server/session.ts';

// The address holds an authorization code until the page strips it: no Referer carries it on.
export const metadata: Metadata = { title: 'Connecting · Steward', referrer: 'no-referrer' };

/**
 * The orchestrator's OAuth completion page (its STEWARD_OAUTH_COMPLETION_URL): the orchestrator's
 * callback sends the browser here with `code` and `state`, and the client component completes
 * them as the signed-in user. Signed out, the code cannot be used for anyone: the user signs in
 * and connects again from the chat.
 */
// biome-ignore lint/style/noDefaultExport: Next renders a route's page from its default export.
export default async function ConnectionCallbackPage() {
  const user = await currentUser();
  if (user === undefined)
    return (
      <main className="login">
        <h1>Connecting</h1>
        <p role="status" data-outcome="signed_out">
          Sign in, then connect again from the chat: a connection is finished by the account that started it.
        </p>
        <a className="button" href="/login">
          Sign in
        </a>
      </main>
    );
  return <ConnectionCallback orchestratorUrl={hostConfig().orchestratorUrl} />;
}
