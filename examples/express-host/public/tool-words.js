// How tools, their arguments, results and errors read to a person. One module for the server's
// pages (imported by src/frontend) and the browser's script (imported by chat.js): no imports,
// no DOM, plain data in and strings out.

const acronyms = new Set(['id', 'url', 'api', 'mcp']);

/** `GMAIL_SEND_EMAIL` → `Send email`; `list_events` → `List events`. */
export function humanize(name) {
  const words = String(name)
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .split(/[_\s.-]+/)
    .filter((word) => word !== '')
    .map((word) => word.toLowerCase());
  if (words.length === 0) return String(name);
  const text = words.map((word) => (acronyms.has(word) ? word.toUpperCase() : word)).join(' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * A tool's name for people: its MCP `title` when the server gave one, else the name humanized,
 * without the server prefix (`gmail__`) and without the server's name repeated (`GMAIL_`).
 * The server reads as a label beside it: `{ title: 'Send email', server: 'Gmail' }`.
 */
export function toolTitle(slug, title) {
  const text = String(slug);
  const split = text.indexOf('__');
  const server = split > 0 ? text.slice(0, split) : '';
  let name = split > 0 ? text.slice(split + 2) : text;
  if (server !== '' && name.toLowerCase().startsWith(`${server.toLowerCase()}_`))
    name = name.slice(server.length + 1);
  return {
    title: typeof title === 'string' && title.trim() !== '' ? title.trim() : humanize(name),
    server: server === '' ? '' : humanize(server),
  };
}

/** Arguments nobody needs to read: Gmail's `user_id: "me"` is the signed-in user. */
const hiddenArguments = new Set(['user_id']);

function showValue(value) {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((item) => typeof item !== 'object')) return value.join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** The arguments as `[label, value]` lines, in the order given; long values are cut. */
export function summarizeArguments(args) {
  if (args === null || typeof args !== 'object' || Array.isArray(args)) return [['Input', showValue(args)]];
  return Object.entries(args)
    .filter(([key]) => !hiddenArguments.has(key))
    .map(([key, value]) => {
      const label = key === 'label_ids' ? 'Folders' : key === 'max_results' ? 'At most' : humanize(key);
      const text = showValue(value);
      return [label, text.length > 400 ? `${text.slice(0, 400)}…` : text];
    });
}

/** One line per fetched email, or one line for anything else: what a tool card shows of a result. */
export function summarizeResult(result) {
  if (result && Array.isArray(result.messages)) {
    const total = result.resultSizeEstimate ?? result.messages.length;
    return [
      `${result.messages.length} of ${total} emails`,
      ...result.messages.map((message) => `${message.subject} (from ${message.sender})`),
    ];
  }
  if (result && typeof result.id === 'string' && Array.isArray(result.labelIds))
    return [`Sent (message ${result.id})`];
  if (result && Array.isArray(result.content)) {
    const texts = result.content
      .filter((part) => part && part.type === 'text')
      .map((part) => String(part.text));
    if (texts.length > 0) return texts.map((text) => (text.length > 300 ? `${text.slice(0, 300)}…` : text));
  }
  const text = typeof result === 'string' ? result : JSON.stringify(result);
  return [text === undefined ? 'Done' : text.length > 300 ? `${text.slice(0, 300)}…` : text];
}

const errorWords = {
  tool_denied: 'You denied this, so it did not run.',
  tool_timeout: 'The tool took too long to answer.',
  tool_not_found: 'That tool is not available right now.',
  tool_invalid_arguments: 'The assistant asked the tool for something it does not accept.',
  tool_invalid_output: 'The tool answered in a way the assistant could not read.',
  tool_unavailable: 'The tool’s server cannot be reached right now.',
  tool_execution_failed: 'The tool failed.',
  approval_expired: 'Nobody decided in time, so it did not run.',
  run_aborted: 'Stopped before it ran.',
  tool_outcome_unknown: 'The server stopped while this ran: it may or may not have happened.',
  tool_authorization_declined: 'Your account is not connected, so it did not run.',
  authorization_failed: 'Connecting your account did not work, so it did not run.',
};

/** What a tool error means for the user, never a raw code. */
export function describeToolError(error) {
  const code = error && typeof error.code === 'string' ? error.code : '';
  return errorWords[code] ?? 'The tool failed.';
}

/** The status line of a tool card. */
export const statusWords = {
  running: 'Running…',
  needs_approval: 'Needs your approval',
  waiting: 'Waiting for your approval',
  needs_input: 'Waiting for your answer',
  needs_connection: 'Waiting for you to connect',
  approving: 'Approving…',
  denying: 'Denying…',
  approved: 'Approved',
  denied: 'Denied',
  done: 'Done',
  error: 'Failed',
  no_result: 'No result',
};

/** How each of core's stop reasons reads at the end of an answer; `stop` reads as nothing. */
export const endingWords = {
  length: 'The answer reached its length limit.',
  content_filter: 'The provider filtered the answer.',
  max_steps: 'The assistant took too many steps.',
  aborted: 'Stopped.',
  timeout: 'The answer took too long.',
  stalled: 'The model stopped responding.',
  interrupted: 'The server running the answer went down.',
  error: 'Something went wrong while answering.',
};

/** What an error event or a refused request says to the user. */
export function describeRunError(code, message) {
  switch (code) {
    case 'rate_limited':
      return 'You sent too many messages; wait a minute and try again.';
    case 'session_busy':
      return 'The assistant is still answering. Wait for it, or stop it first.';
    case 'too_many_active_runs':
      return 'You have too many answers running at once; wait for one to finish.';
    case 'model_error':
    case 'model_rate_limited':
    case 'model_stream_stalled':
    case 'model_unavailable':
      return 'The model could not be reached. Try again in a moment.';
    case 'storage_error':
      return 'Your conversation could not be saved right now. Try again shortly.';
    default:
      return typeof message === 'string' && message !== '' && !/[_{}]/.test(message)
        ? message
        : 'Something went wrong while answering.';
  }
}
