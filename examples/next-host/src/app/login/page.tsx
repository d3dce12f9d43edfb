import { redirect } from 'next/navigation';
import { currentUser } from '../../server/session.ts';

// biome-ignore lint/style/noDefaultExport: Next renders a route's page from its default export.
export default async function Login() {
  if ((await currentUser()) !== undefined) redirect('/chat');
  return (
    <main className="login">
      <h1>Steward</h1>
      <p>Sign in to chat with the assistant. It reads your (mock) inbox and asks before it sends anything.</p>
      {/* A plain link: the route handler starts the OpenID Connect flow and redirects to the provider. */}
      <a className="button" href="/auth/login">
        Sign in with Steward ID
      </a>
    </main>
  );
}
