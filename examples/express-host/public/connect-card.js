// A run's call that waits for the user to connect their account on the call's server (an
// `authorization_required` event): "Connect Gmail" goes through this host, which remembers the
// authorization in this browser's session, then on to the server's own sign-in and consent page;
// the callback brings the user back to the conversation and the run goes on.

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** What became of a request to connect, on its card. */
export function connectionOutcomeWords(outcome, server) {
  if (outcome === 'connected') return `Connected ${server}.`;
  if (outcome === 'expired') return `The request to connect ${server} expired.`;
  return `You did not connect ${server}.`;
}

/**
 * The card's part for an `authorization_required` event: a Connect link (the same tab: the
 * callback comes back to this conversation) and "Not now". `decline()` posts the "Not now" and
 * resolves the response; `resolve(outcome)` replaces the part with what happened.
 */
export function createConnectRequest(event, { server, toolTitle, decline, announce }) {
  const box = element('div', 'authorization');
  box.dataset.callId = event.call_id;
  const message = element(
    'p',
    undefined,
    `${toolTitle} needs your ${server} account. Connect it to let the assistant use it for you.`,
  );
  message.id = `connect-${event.call_id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  box.setAttribute('role', 'group');
  box.setAttribute('aria-labelledby', message.id);
  const buttons = element('div', 'buttons');
  const connect = element('a', 'button', `Connect ${server}`);
  connect.href = `/connections/authorize?${new URLSearchParams({ call_id: event.call_id })}`;
  const notNow = element('button', 'secondary', 'Not now');
  notNow.type = 'button';
  const problem = element('p', 'error');
  problem.setAttribute('role', 'alert');
  notNow.addEventListener('click', async () => {
    notNow.disabled = true;
    problem.textContent = '';
    const response = await decline().catch(() => undefined);
    if (response?.ok) return; // The run's authorization_resolved replaces the card's part.
    notNow.disabled = false;
    const body = await response?.json().catch(() => ({}));
    problem.textContent = body?.error?.message ?? 'That did not go through. Try again.';
  });
  buttons.append(connect, notNow);
  box.append(
    message,
    buttons,
    element('p', 'hint', `You sign in on ${server}'s own page, then come back here.`),
    problem,
  );
  return {
    root: box,
    announcement: `${toolTitle} needs your ${server} account.`,
    focus: () => connect.focus(),
    resolve(outcome) {
      const done = element('p', 'input-answer', connectionOutcomeWords(outcome, server));
      done.setAttribute('role', 'status');
      box.replaceWith(done);
      announce?.(done.textContent);
    },
  };
}
