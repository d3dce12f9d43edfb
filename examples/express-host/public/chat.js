// The chat page's script: no build step, no framework. It sends the composer's form with fetch,
// then streams the run straight from the orchestrator's WebSocket with the run token the server
// handed out (pattern B), rendering tokens, tool cards (Approve, Always allow, Deny), Stop and
// Retry, and tools' requests for input (input-card.js). Every piece of text goes in through
// textContent, never as markup. Without this script the forms still work: the server renders
// the answer after a redirect.
import { createConnectRequest } from './connect-card.js';
import { createInputRequest } from './input-card.js';
import {
  describeRunError,
  describeToolError,
  endingWords,
  statusWords,
  summarizeArguments,
  summarizeResult,
  toolTitle,
} from './tool-words.js';

const transcript = document.getElementById('transcript');
const composer = document.getElementById('composer');
const field = document.getElementById('message');
const sendButton = document.getElementById('send');
const stopButton = document.getElementById('stop');
const announcer = document.getElementById('announcer');
const jump = document.getElementById('jump');
const composerError = document.getElementById('composer-error');
const csrf = composer?.querySelector('input[name="_csrf"]')?.value ?? '';
const sessionId = transcript?.dataset.sessionId ?? '';
let titles = {};
try {
  titles = JSON.parse(transcript?.dataset.toolTitles ?? '{}');
} catch {
  titles = {};
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// Auto-scroll: follow the stream while the reader is at the bottom; leave them alone once they
// scroll up, and offer a way back.
const atBottom = () => window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 96;
function scrollToEnd() {
  window.scrollTo({ top: document.documentElement.scrollHeight, behavior: 'instant' });
  if (jump) jump.hidden = true;
}
/** Runs a change to the transcript, keeping the view at the end only if it was there. */
function changing(change) {
  const follow = atBottom();
  change();
  if (follow) scrollToEnd();
  else if (jump) jump.hidden = false;
}
jump?.addEventListener('click', scrollToEnd);
window.addEventListener('scroll', () => {
  if (jump && !jump.hidden && atBottom()) jump.hidden = true;
});

/** The run this tab streams now, if any: Stop and Esc act on it. */
let current;

function setBusy(busy) {
  if (sendButton) sendButton.disabled = busy;
  if (stopButton) stopButton.hidden = !busy;
}

function showError(message) {
  if (composerError) composerError.textContent = message;
}

async function post(path, fields = {}) {
  return submitForm(path, new URLSearchParams({ _csrf: csrf, ...fields }));
}

function submitForm(path, body) {
  return fetch(path, { method: 'POST', headers: { accept: 'application/json', 'x-csrf-token': csrf }, body });
}

/** Whether a form that just appeared may take the focus: not while the reader is typing elsewhere. */
const focusIsFree = () =>
  document.activeElement === document.body || (document.activeElement === field && field.value.trim() === '');

/** Renders one run's events into its assistant turn. */
function createRunView(turn, runId) {
  const cards = new Map();
  let text;
  let answer = '';
  turn.setAttribute('aria-busy', 'true');
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
    const { title, server } = toolTitle(event.tool_slug, titles[event.tool_slug]);
    const root = element('section', 'tool-card');
    root.dataset.callId = event.call_id;
    root.setAttribute('aria-label', title);
    const header = element('header');
    const state = element('span', 'tool-status');
    header.append(element('span', 'tool-title', title));
    if (server) header.append(' ', element('span', 'tool-server', server));
    header.append(' ', state);
    root.append(header);
    const lines = summarizeArguments(event.args);
    if (lines.length > 0) {
      const list = element('dl', 'tool-args');
      for (const [label, value] of lines)
        list.append(element('dt', undefined, label), element('dd', undefined, value));
      root.append(list);
    }
    const raw = element('details', 'tool-raw');
    raw.append(
      element('summary', undefined, 'Details'),
      element('pre', undefined, JSON.stringify(event.args, null, 2)),
    );
    root.append(raw);
    add(root);
    view = {
      root,
      state,
      title,
      setStatus: (key) => {
        root.dataset.status = key;
        state.textContent = statusWords[key] ?? key;
      },
    };
    cards.set(event.call_id, view);
    text = undefined; // Tokens after a tool card start a new paragraph.
    return view;
  }

  function askApproval(event) {
    const view = card(event);
    view.setStatus('waiting');
    if (view.approval) return;
    const box = element('div', 'approval');
    box.append(
      element('p', undefined, `${view.title} changes something outside this chat. Do you want it to run?`),
    );
    const buttons = element('div', 'buttons');
    const approve = element('button', undefined, 'Approve');
    const always = element('button', 'secondary', 'Always allow');
    const deny = element('button', 'secondary', 'Deny');
    for (const button of [approve, always, deny]) button.type = 'button';
    const choose = async (decision) => {
      for (const button of [approve, always, deny]) button.disabled = true;
      view.setStatus(decision === 'deny' ? 'denying' : 'approving');
      const response = await post('/chat/approvals', {
        call_id: event.call_id,
        decision,
        session_id: sessionId,
      }).catch(() => undefined);
      if (response?.ok) return;
      const body = await response?.json().catch(() => ({}));
      for (const button of [approve, always, deny]) button.disabled = false;
      view.setStatus('waiting');
      box.append(element('p', 'error', body?.error?.message ?? 'That did not go through. Try again.'));
    };
    approve.addEventListener('click', () => choose('approve'));
    always.addEventListener('click', () => choose('always'));
    deny.addEventListener('click', () => choose('deny'));
    buttons.append(approve, always, deny);
    box.append(buttons);
    view.root.append(box);
    view.approval = box;
    announce(`${view.title} needs your approval.`);
  }

  function askInput(event) {
    const view = card(event);
    view.setStatus('needs_input');
    view.inputs ??= new Map();
    if (view.inputs.has(event.request_id)) return;
    const request = createInputRequest(event, { csrf, sessionId, submit: submitForm, announce });
    view.inputs.set(event.request_id, request);
    view.root.append(request.root);
    announce(request.announcement);
    if (focusIsFree()) request.focus();
  }

  function resolveInput(event) {
    const view = cards.get(event.call_id);
    const request = view?.inputs?.get(event.request_id);
    if (!view || !request) return;
    request.resolve(event.action);
    view.inputs.delete(event.request_id);
    if (view.inputs.size === 0 && view.root.dataset.status === 'needs_input') view.setStatus('running');
  }

  function askConnection(event) {
    const view = card(event);
    view.setStatus('needs_connection');
    if (view.connection) return;
    const { server } = toolTitle(`${event.server}__`, undefined);
    const request = createConnectRequest(event, {
      server: server || event.server,
      toolTitle: view.title,
      decline: () => post('/chat/authorizations/decline', { call_id: event.call_id, session_id: sessionId }),
      announce,
    });
    view.connection = request;
    view.root.append(request.root);
    announce(request.announcement);
    if (focusIsFree()) request.focus();
  }

  function resolveConnection(event) {
    const view = cards.get(event.call_id);
    if (!view?.connection) return;
    view.connection.resolve(event.outcome);
    view.connection = undefined;
    view.setStatus(event.outcome === 'connected' ? 'running' : 'denied');
  }

  function addRetry() {
    const retry = element('button', 'secondary retry-button', 'Retry');
    retry.type = 'button';
    retry.addEventListener('click', () => {
      const question = turn.previousElementSibling?.classList.contains('user')
        ? turn.previousElementSibling.textContent
        : undefined;
      if (question) send(question.trim());
    });
    turn.append(retry);
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
          answer += event.text;
          break;
        case 'tool_request':
          card(event).setStatus(event.require_confirmation ? 'needs_approval' : 'running');
          break;
        case 'approval_required':
          askApproval(event);
          break;
        case 'approval_resolved': {
          const view = card(event);
          view.approval?.remove();
          view.approval = undefined;
          view.setStatus(event.decision === 'approved' ? 'approved' : 'denied');
          break;
        }
        case 'input_required':
          askInput(event);
          break;
        case 'authorization_required':
          askConnection(event);
          break;
        case 'authorization_resolved':
          resolveConnection(event);
          break;
        case 'input_resolved':
          resolveInput(event);
          break;
        case 'tool_result': {
          const view = card(event);
          view.approval?.remove();
          for (const request of view.inputs?.values() ?? []) request.resolve('cancel');
          view.inputs?.clear();
          const denied = event.error?.code === 'tool_denied';
          view.setStatus(!event.error ? 'done' : denied ? 'denied' : 'error');
          const list = element('ul', 'tool-result');
          const lines = event.error ? [describeToolError(event.error)] : summarizeResult(event.result);
          for (const line of lines) list.append(element('li', undefined, line));
          view.root.append(list);
          break;
        }
        case 'error':
          add(element('p', 'error', describeRunError(event.code, event.message)));
          break;
        case 'final': {
          status.remove();
          turn.removeAttribute('aria-busy');
          turn.dataset.stopReason = event.stop_reason;
          if (event.partial) text?.classList.add('partial');
          if (event.stop_reason === 'stop' && !event.partial) {
            announce(answer || event.text || 'The answer is complete.');
            break;
          }
          const words = endingWords[event.stop_reason] ?? 'The answer ended early.';
          add(element('p', event.stop_reason === 'aborted' ? 'ending' : 'ending error', words));
          announce(words);
          addRetry();
          break;
        }
        default:
          break;
      }
    },
    notice(message) {
      add(element('p', 'error', message));
    },
    lost() {
      status.remove();
      turn.removeAttribute('aria-busy');
    },
    runId,
  };
}

function announce(message) {
  if (!announcer) return;
  announcer.textContent = message;
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

/** Runs this tab streams, so a broadcast of the same run from another tab is not streamed twice. */
const streaming = new Set();

/** Streams a run, reconnecting with `last_seq` after a drop so no event shows twice. */
function streamRun(runId, firstToken, turn) {
  streaming.add(runId);
  let token = firstToken;
  let lastSeq = 0;
  let failures = 0;
  let finished = false;
  const view = createRunView(turn, runId);
  current = runId;
  setBusy(true);

  const done = () => {
    finished = true;
    streaming.delete(runId);
    if (current === runId) {
      current = undefined;
      setBusy(false);
    }
  };

  const connect = () => {
    const url = new URL('/ws', window.location.href);
    url.protocol = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    url.search = new URLSearchParams({ run_id: runId, last_seq: String(lastSeq), token }).toString();
    const ws = new WebSocket(url);
    ws.addEventListener('message', (message) => {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      if (typeof event.seq !== 'number') {
        // A protocol error (a decision refused, say): the socket stays open.
        changing(() => view.notice(describeRunError(event.code, event.message)));
        return;
      }
      if (event.seq <= lastSeq) return;
      lastSeq = event.seq;
      failures = 0;
      if (event.type !== 'final') {
        changing(() => view.apply(event));
        return;
      }
      // The run is over whatever rendering it does: no reconnect, and the composer is free again.
      try {
        changing(() => view.apply(event));
      } finally {
        done();
        ws.close();
      }
    });
    ws.addEventListener('close', async () => {
      if (finished) return;
      failures += 1;
      if (failures > 8) {
        changing(() => view.notice('Lost the connection. Reload the page to see the answer.'));
        view.lost();
        done();
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
  turn.setAttribute('aria-label', 'Assistant');
  transcript.append(turn);
  return turn;
}

function userTurn(text) {
  transcript.querySelector('.empty')?.remove();
  const turn = element('article', 'turn user');
  turn.setAttribute('aria-label', 'You');
  turn.append(element('p', 'text', text));
  transcript.append(turn);
}

// Other tabs of the same conversation: a run started here is streamed there too, and back.
const channel = 'BroadcastChannel' in window ? new BroadcastChannel('steward-chat') : undefined;
channel?.addEventListener('message', (message) => {
  const { type, session, runId, text } = message.data ?? {};
  if (type !== 'run_started' || session !== sessionId || streaming.has(runId)) return;
  changing(() => userTurn(text));
  const turn = assistantTurn(runId);
  freshToken(runId)
    .then((token) => streamRun(runId, token, turn))
    .catch(() => turn.append(element('p', 'error', 'Reload the page to see this answer.')));
});

async function send(text) {
  if (text === '' || current !== undefined) return;
  showError('');
  setBusy(true);
  let response;
  try {
    response = await post('/chat/send', { message: text, session_id: sessionId });
  } catch {
    showError('Could not reach the server. Check your connection and try again.');
    setBusy(false);
    return;
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    if (response.status === 401) window.location.assign('/login');
    showError(body.error?.message ?? describeRunError(body.error?.code, undefined));
    setBusy(false);
    return;
  }
  if (field && field.value.trim() === text) field.value = '';
  document.getElementById('retry')?.remove();
  changing(() => userTurn(text));
  scrollToEnd();
  channel?.postMessage({ type: 'run_started', session: sessionId, runId: body.run_id, text });
  streamRun(body.run_id, body.token, assistantTurn(body.run_id));
}

async function stop() {
  if (current === undefined) return;
  if (stopButton) stopButton.disabled = true;
  await post(`/chat/runs/${encodeURIComponent(current)}/stop`, { session_id: sessionId }).catch(
    () => undefined,
  );
  if (stopButton) stopButton.disabled = false;
}

composer?.addEventListener('submit', (submit) => {
  submit.preventDefault();
  void send(field.value.trim());
});
stopButton?.addEventListener('click', () => void stop());
field?.addEventListener('keydown', (key) => {
  if (key.key === 'Enter' && !key.shiftKey && !key.isComposing) {
    key.preventDefault();
    composer.requestSubmit();
  }
});
document.addEventListener('keydown', (key) => {
  if (key.key === 'Escape' && current !== undefined) {
    key.preventDefault();
    void stop();
  }
});
// The server's Retry form (a failed or stopped last answer): sent like the composer.
document.getElementById('retry')?.addEventListener('submit', (submit) => {
  submit.preventDefault();
  const message = submit.currentTarget.querySelector('input[name="message"]')?.value ?? '';
  void send(message.trim());
});
// The script has its own Stop button; the server's form is for pages without script.
document.getElementById('stop-form')?.remove();

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
scrollToEnd();
field?.focus();
