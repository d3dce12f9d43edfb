'use client';

import { createStewardClient, readAuthorizationCallback } from '@steward/transport-ws/client';
import { useEffect, useRef, useState } from 'react';
import { createTokenSource } from './token-source.ts';

type Outcome =
  | { readonly state: 'working' }
  | { readonly state: 'done'; readonly text: string; readonly ok: boolean };

/**
 * Finishes connecting an account: the orchestrator's OAuth callback sent the browser here with
 * the authorization server's `code` and `state` (it cannot complete them itself: it does not
 * know whose browser came back). This page does know, so it posts them to the orchestrator with
 * the signed-in user's token; the orchestrator refuses a user who did not begin the
 * authorization (`wrong_user`), so a link someone else began cannot file this user's account
 * under theirs. Then the chat's paused run goes on by itself.
 */
export function ConnectionCallback(props: { orchestratorUrl: string }) {
  const [outcome, setOutcome] = useState<Outcome>({ state: 'working' });
  // A state completes once: strict mode's second effect run must not post it again.
  const started = useRef(false);
  useEffect(() => {
    if (started.current) return;
    started.current = true;
    const callback = readAuthorizationCallback(window.location.href);
    // The code leaves the address bar and the history at once.
    window.history.replaceState(null, '', window.location.pathname);
    if (callback === undefined) {
      setOutcome({
        state: 'done',
        ok: false,
        text: 'This page finishes connecting an account; nothing to finish here.',
      });
      return;
    }
    const client = createStewardClient({ url: props.orchestratorUrl, getToken: createTokenSource() });
    client.completeAuthorization(callback).then(
      (done) =>
        setOutcome(
          done.outcome === 'connected'
            ? {
                state: 'done',
                ok: true,
                text: `Connected ${done.server}. The assistant goes on in the chat.`,
              }
            : { state: 'done', ok: false, text: `You declined connecting ${done.server}.` },
        ),
      (error: { details?: { reason?: unknown }; message?: string }) =>
        setOutcome({ state: 'done', ok: false, text: failureText(error.details?.reason, error.message) }),
    );
  }, [props.orchestratorUrl]);

  return (
    <main className="login">
      <h1>Connecting</h1>
      <p
        role="status"
        data-outcome={outcome.state === 'done' ? (outcome.ok ? 'connected' : 'failed') : 'working'}
      >
        {outcome.state === 'working' ? 'Finishing the connection…' : outcome.text}
      </p>
      {outcome.state === 'done' && (
        <a className="button" href="/chat">
          Back to the chat
        </a>
      )}
    </main>
  );
}

function failureText(reason: unknown, message: string | undefined): string {
  switch (reason) {
    case 'wrong_user':
      return 'This connection was started by another account. Nothing was connected. Start connecting from your own chat.';
    case 'unknown_state':
    case 'expired':
      return 'This link is expired or was already used. Start connecting again from the chat.';
    default:
      return `Not connected: ${message ?? 'the orchestrator refused'}.`;
  }
}
