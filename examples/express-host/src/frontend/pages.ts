import type { ApprovalRecord, StoredMessage, ToolCall } from '@steward/core';
import { html, type SafeHtml } from './html.ts';
import { summarizeToolResult, toolMessageResult } from './tool-summary.ts';

function layout(title: string, body: SafeHtml, head: SafeHtml = html``): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="stylesheet" href="/static/chat.css">
${head}
</head>
<body>
${body}
</body>
</html>
`.value;
}

const csrfField = (token: string) => html`<input type="hidden" name="_csrf" value="${token}">`;

/** The demo login: any username, no password. */
export function loginPage(view: { csrf: string; error?: string; username?: string }): string {
  return layout(
    'Sign in · Steward',
    html`<main class="login">
<h1>Steward</h1>
<p>A demo assistant with a mock Gmail. Sign in with any name: there is no password.</p>
<form method="post" action="/login">
${csrfField(view.csrf)}
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" required maxlength="64" value="${view.username ?? ''}" autofocus>
${view.error === undefined ? '' : html`<p class="error" role="alert">${view.error}</p>`}
<button type="submit">Sign in</button>
</form>
</main>`,
  );
}

/** What the chat page shows. */
export interface ChatView {
  readonly user: string;
  readonly csrf: string;
  readonly history: readonly StoredMessage[];
  /** The session's last run, when it has not ended: streamed again by the page's script. */
  readonly activeRun?: { readonly id: string; readonly status: 'running' | 'awaiting_approval' };
  readonly pendingApprovals: readonly ApprovalRecord[];
  /** How the last run ended, when it did not end normally. */
  readonly lastRunProblem?: string;
}

interface RunMessages {
  readonly runId: string;
  readonly messages: StoredMessage[];
}

function byRun(history: readonly StoredMessage[]): RunMessages[] {
  const runs: RunMessages[] = [];
  for (const stored of history) {
    const last = runs.at(-1);
    if (last !== undefined && last.runId === stored.runId) last.messages.push(stored);
    else runs.push({ runId: stored.runId, messages: [stored] });
  }
  return runs;
}

function prettyArguments(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text) as unknown, null, 2);
  } catch {
    return text;
  }
}

function toolCard(
  call: ToolCall,
  result: { content: string; result?: unknown; isError?: boolean } | undefined,
  approval: ApprovalRecord | undefined,
  csrf: string,
): SafeHtml {
  const status =
    approval !== undefined
      ? 'waiting for your approval'
      : result === undefined
        ? 'no result'
        : result.isError !== true
          ? 'done'
          : result.content.includes('"tool_denied"')
            ? 'denied'
            : 'error';
  return html`<section class="tool-card" data-call-id="${call.callId}">
<header><span class="tool-name">${call.name}</span> <span class="tool-status">${status}</span></header>
<pre class="tool-args">${prettyArguments(call.arguments)}</pre>
${
  result === undefined
    ? ''
    : html`<ul class="tool-result">${summarizeToolResult(toolMessageResult(result)).map((line) => html`<li>${line}</li>`)}</ul>`
}
${approval === undefined ? '' : approvalForm(approval, csrf)}
</section>`;
}

function approvalForm(approval: ApprovalRecord, csrf: string): SafeHtml {
  return html`<form method="post" action="/chat/approvals" class="approval">
${csrfField(csrf)}
<input type="hidden" name="call_id" value="${approval.callId}">
<p>${approval.toolName} has side effects and needs your approval.</p>
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
</form>`;
}

function renderRun(run: RunMessages, view: ChatView): SafeHtml {
  const results = new Map<string, { content: string; result?: unknown; isError?: boolean }>();
  for (const { message } of run.messages) if (message.role === 'tool') results.set(message.callId, message);
  const approvals = new Map(view.pendingApprovals.map((approval) => [approval.callId, approval]));
  const users = run.messages.filter(({ message }) => message.role === 'user');
  const replies = run.messages.filter(({ message }) => message.role === 'assistant');
  const live = view.activeRun?.id === run.runId;
  return html`${users.map(({ message }) => html`<article class="turn user"><p class="text">${message.content}</p></article>`)}
<article class="turn assistant" data-run-id="${run.runId}"${live ? html` data-live="true"` : ''}>
${replies.map(({ message }) =>
  message.role !== 'assistant'
    ? ''
    : html`${message.content === '' ? '' : html`<p class="text${message.partial === true ? ' partial' : ''}">${message.content}</p>`}
${(message.toolCalls ?? []).map((call) => toolCard(call, results.get(call.callId), approvals.get(call.callId), view.csrf))}`,
)}
${live && view.activeRun?.status === 'running' ? html`<p class="status">Working… <a href="/chat">reload</a> to see the answer.</p>` : ''}
</article>`;
}

/** The chat: the session's history rendered on the server, the composer, and the streaming script. */
export function chatPage(view: ChatView): string {
  const runs = byRun(view.history);
  const refresh =
    view.activeRun?.status === 'running'
      ? html`<noscript><meta http-equiv="refresh" content="2"></noscript>`
      : html``;
  return layout(
    'Chat · Steward',
    html`<header class="bar">
<strong>Steward</strong>
<span>signed in as <b>${view.user}</b></span>
<form method="post" action="/logout">${csrfField(view.csrf)}<button type="submit" class="link">Sign out</button></form>
</header>
<main id="transcript"${view.activeRun === undefined ? '' : html` data-active-run="${view.activeRun.id}"`}>
${runs.length === 0 ? html`<p class="empty">Ask “What's in my inbox?”, or “Send an email to ada@engine.example saying the report is ready”.</p>` : ''}
${runs.map((run) => renderRun(run, view))}
${view.lastRunProblem === undefined ? '' : html`<p class="error">${view.lastRunProblem}</p>`}
</main>
<form id="composer" method="post" action="/chat/send">
${csrfField(view.csrf)}
<textarea name="message" rows="2" required maxlength="4000" placeholder="Message the assistant"></textarea>
<button type="submit">Send</button>
</form>
<script src="/static/chat.js" type="module"></script>`,
    refresh,
  );
}

/** A short page for refusals (an expired form, a busy session), with the way back. */
export function messagePage(title: string, text: string): string {
  return layout(
    `${title} · Steward`,
    html`<main class="login"><h1>${title}</h1><p>${text}</p><p><a href="/chat">Back to the chat</a></p></main>`,
  );
}
