// The chat page's script: no build step, no framework. It sends the composer's form with fetch,
// then streams the run straight from the orchestrator's WebSocket with the run token the server
// handed out (pattern B), rendering tokens, tool cards with Approve/Deny, and the final answer.
// Every piece of text goes in through textContent, never as markup. Without this script the
// forms still work: the server renders the answer after a redirect.

const transcript = document.getElementById('transcript');
const composer = document.getElementById('composer');
const csrf = composer?.querySelector('input[name="_csrf"]')?.value ?? '';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function setBusy(busy) {
  const button = composer?.querySelector('button[type="submit"]');
  if (button) button.disabled = busy;
}

/** One line per fetched email, or one line for anything else (as the server's tool cards). */
function summarize(result) {
  if (result && Array.isArray(result.messages)) {
    const total = result.resultSizeEstimate ?? result.messages.length;
    return [
      `${result.messages.length} of ${total} emails`,
      ...result.messages.map((message) => `${message.subject} (from ${message.sender})`),
    ];
  }
  if (result && typeof result.id === 'string' && Array.isArray(result.labelIds)) {
    return [`sent: message ${result.id} (${result.labelIds.join(', ')})`];
  }
  const text = typeof result === 'string' ? result : JSON.stringify(result);
  return [text.length > 300 ? `${text.slice(0, 300)}…` : text];
}

/** How each of core's stop reasons (`StopReason`) reads at the end of an answer; `stop` reads as nothing. */
const endings = {
  length: 'the answer reached its length limit',
  content_filter: 'the provider filtered the answer',
  max_steps: 'the assistant took too many steps',
  aborted: 'the answer was stopped',
  timeout: 'the answer took too long',
  stalled: 'the model stopped responding',
  interrupted: 'the server running the answer went down',
  error: 'an error ended the answer',
};

/** Renders one run's events into its assistant turn. */
function createRunView(turn, decide) {
  const cards = new Map();
  let text;
  const status = element('p', 'status', 'Working…');
  turn.append(status);
  // New content goes above the "Working…" line while it shows, and at the end once the run is over.
  const add = (node) => {
    if (status.parentNode === turn) turn.insertBefore(node, status);
    else turn.append(node);
  };

  function card(event) {
    let view = cards.get(event.call_id);
    if (view) return view;
    const root = element('section', 'tool-card');
    const header = element('header');
    const state = element('span', 'tool-status');
    header.append(element('span', 'tool-name', event.tool_slug), ' ', state);
    root.append(header, element('pre', 'tool-args', JSON.stringify(event.args, null, 2)));
    add(root);
    view = { root, state };
    cards.set(event.call_id, view);
    text = undefined; // Tokens after a tool card start a new paragraph.
    return view;
  }

  function askApproval(event) {
    const view = card(event);
    view.state.textContent = 'waiting for your approval';
    const box = element('div', 'approval');
    box.append(element('p', undefined, `${event.tool_slug} has side effects and needs your approval.`));
    const approve = element('button', undefined, 'Approve');
    const deny = element('button', 'secondary', 'Deny');
    const choose = (type) => {
      approve.disabled = true;
      deny.disabled = true;
      view.state.textContent = type === 'approve' ? 'approving…' : 'denying…';
      decide({ type, call_id: event.call_id });
    };
    approve.addEventListener('click', () => choose('approve'));
    deny.addEventListener('click', () => choose('deny'));
    box.append(approve, ' ', deny);
    view.root.append(box);
    view.approval = box;
  }

  return {
    apply(event) {
      switch (event.type) {
        case 'token':
          if (!text) {
            text = element('p', 'text');
            add(text);
          }
          text.textContent += event.text;
          break;
        case 'tool_request':
          card(event).state.textContent = event.require_confirmation ? 'needs approval' : 'running';
          break;
        case 'approval_required':
          askApproval(event);
          break;
        case 'approval_resolved': {
          const view = card(event);
          view.approval?.remove();
          view.state.textContent = event.decision;
          break;
        }
        case 'tool_result': {
          const view = card(event);
          view.state.textContent = !event.error
            ? 'done'
            : event.error.code === 'tool_denied'
              ? 'denied'
              : 'error';
          const list = element('ul', 'tool-result');
          const lines = event.error
            ? [`${event.error.code}: ${event.error.message}`]
            : summarize(event.result);
          for (const line of lines) list.append(element('li', undefined, line));
          view.root.append(list);
          break;
        }
        case 'error':
          add(element('p', 'error', event.message));
          break;
        case 'final': {
          status.remove();
          turn.dataset.stopReason = event.stop_reason;
          if (event.partial) text?.classList.add('partial');
          if (event.stop_reason === 'stop') break;
          const why = endings[event.stop_reason];
          add(
            element(
              'p',
              'error stopped',
              why === undefined ? `Stopped: ${event.stop_reason}` : `Stopped: ${why} (${event.stop_reason}).`,
            ),
          );
          break;
        }
      }
    },
    notice(message) {
      add(element('p', 'error', message));
    },
    stopped() {
      status.remove();
    },
  };
}

async function freshToken(runId) {
  const response = await fetch(`/chat/runs/${encodeURIComponent(runId)}/token`, {
    method: 'POST',
    headers: { accept: 'application/json', 'x-csrf-token': csrf },
  });
  if (response.status === 401) window.location.assign('/login');
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return (await response.json()).token;
}

/** Streams a run, reconnecting with `last_seq` after a drop so no event shows twice. */
function streamRun(runId, firstToken, turn) {
  let token = firstToken;
  let lastSeq = 0;
  let failures = 0;
  let finished = false;
  let socket;
  const unsent = [];
  const view = createRunView(turn, (frame) => {
    if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
    else unsent.push(frame);
  });

  const connect = () => {
    const url = new URL('/ws', window.location.href);
    url.protocol = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    url.search = new URLSearchParams({ run_id: runId, last_seq: String(lastSeq), token }).toString();
    const ws = new WebSocket(url);
    socket = ws;
    ws.addEventListener('open', () => {
      for (const frame of unsent.splice(0)) ws.send(JSON.stringify(frame));
    });
    ws.addEventListener('message', (message) => {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      if (typeof event.seq !== 'number') {
        // A protocol error (a decision refused, say): the socket stays open.
        view.notice(event.message ?? 'The server refused that.');
        return;
      }
      if (event.seq <= lastSeq) return;
      lastSeq = event.seq;
      failures = 0;
      if (event.type !== 'final') {
        view.apply(event);
        return;
      }
      // The run is over whatever rendering it does: no reconnect, and the composer is free again.
      finished = true;
      try {
        view.apply(event);
      } finally {
        setBusy(false);
        ws.close();
      }
    });
    ws.addEventListener('close', async () => {
      if (finished || socket !== ws) return;
      failures += 1;
      if (failures > 8) {
        view.notice('Lost the connection. Reload the page to see the answer.');
        view.stopped();
        setBusy(false);
        return;
      }
      await sleep(Math.min(5_000, 250 * 2 ** failures));
      // The first token may have expired (run tokens live five minutes): ask for a fresh one.
      token = await freshToken(runId).catch(() => token);
      connect();
    });
  };
  connect();
}

function assistantTurn(runId) {
  const turn = element('article', 'turn assistant');
  turn.dataset.runId = runId;
  transcript.append(turn);
  return turn;
}

function showError(message) {
  const note = element('p', 'error', message);
  transcript.append(note);
  note.scrollIntoView({ block: 'end' });
}

composer?.addEventListener('submit', async (submit) => {
  submit.preventDefault();
  const field = composer.elements.namedItem('message');
  const text = field.value.trim();
  if (text === '') return;
  setBusy(true);
  let response;
  try {
    response = await fetch('/chat/send', {
      method: 'POST',
      headers: { accept: 'application/json' },
      body: new URLSearchParams(new FormData(composer)),
    });
  } catch {
    showError('Could not reach the server.');
    setBusy(false);
    return;
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    showError(body.error?.message ?? `The server answered ${response.status}.`);
    setBusy(false);
    return;
  }
  field.value = '';
  transcript.querySelector('.empty')?.remove();
  const user = element('article', 'turn user');
  user.append(element('p', 'text', text));
  transcript.append(user);
  streamRun(body.run_id, body.token, assistantTurn(body.run_id));
});

composer?.querySelector('textarea')?.addEventListener('keydown', (key) => {
  if (key.key === 'Enter' && !key.shiftKey) {
    key.preventDefault();
    composer.requestSubmit();
  }
});

// A run still going when the page was rendered (a reload mid-answer): stream it again from the
// start into its turn, replacing what the server could render of it.
const active = transcript?.dataset.activeRun;
if (active) {
  const turn =
    [...transcript.querySelectorAll('article.assistant')].find((node) => node.dataset.runId === active) ??
    assistantTurn(active);
  turn.replaceChildren();
  setBusy(true);
  freshToken(active)
    .then((token) => streamRun(active, token, turn))
    .catch(() => setBusy(false));
}
