// A tool's request for input (MCP elicitation) in the chat: the same form the server renders
// for pages without script (views/input-request.eta), built from the event, posted with fetch.
// Every piece of text goes in through textContent, never as markup.
import { formFields, inputActionWords } from './input-form.js';

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const humanizeServer = (name) => {
  const text = String(name).replace(/[_-]+/g, ' ').trim();
  return text.charAt(0).toUpperCase() + text.slice(1);
};

function helpOf(field, control) {
  if (!field.help) return undefined;
  const help = element('p', 'hint', field.help);
  help.id = `${field.id}-help`;
  control.setAttribute('aria-describedby', help.id);
  return help;
}

function labelText(field) {
  const label = [field.label];
  if (field.required) label.push(' ', element('span', 'required', '(required)'));
  return label;
}

function fieldNode(field) {
  if (field.control === 'checkboxes') {
    const set = element('fieldset', 'field');
    set.id = field.id;
    const legend = element('legend');
    legend.append(...labelText(field));
    set.append(legend);
    for (const option of field.options) {
      const label = element('label', 'choice');
      label.htmlFor = option.id;
      const box = element('input');
      Object.assign(box, { type: 'checkbox', id: option.id, name: field.name, value: option.value });
      box.checked = option.checked === true;
      label.append(box, ' ', option.label);
      set.append(label);
    }
    const help = helpOf(field, set);
    if (help) set.append(help);
    return set;
  }
  const wrap = element('div', field.control === 'checkbox' ? 'field check' : 'field');
  const label = element('label');
  label.htmlFor = field.id;
  label.append(...labelText(field));
  let control;
  if (field.control === 'checkbox') {
    control = element('input');
    Object.assign(control, { type: 'checkbox', id: field.id, name: field.name, value: 'true' });
    control.checked = field.checked === true;
    wrap.append(control, label);
  } else {
    if (field.control === 'select') {
      control = element('select');
      if (field.empty) control.append(new Option('Choose…', ''));
      for (const option of field.options)
        control.append(new Option(option.label, option.value, false, option.selected));
    } else {
      control = element('input');
      control.type = field.control === 'number' ? 'number' : field.inputType;
      control.value = field.value ?? '';
      if (field.control === 'number') {
        control.step = field.step;
        control.inputMode = field.step === '1' ? 'numeric' : 'decimal';
      }
      if (field.min !== undefined) control.min = field.min;
      if (field.max !== undefined) control.max = field.max;
      if (field.minLength !== undefined) control.minLength = Number(field.minLength);
      if (field.maxLength !== undefined) control.maxLength = Number(field.maxLength);
    }
    control.id = field.id;
    control.name = field.name;
    control.required = field.required;
    wrap.append(label, control);
  }
  const help = helpOf(field, control);
  if (help) wrap.append(help);
  return wrap;
}

let forms = 0;

/**
 * The form (or link) of an `input_required` event. `submit(path, body)` posts the answer and
 * resolves the response; the card stays until `resolve(action)` (the run's `input_resolved`)
 * replaces it with what happened.
 */
export function createInputRequest(event, { csrf, sessionId, submit, announce }) {
  forms += 1;
  const idPrefix = `live-input-${forms}`;
  const form = element('form', 'input-request');
  form.method = 'post';
  form.action = `/chat/runs/${encodeURIComponent(event.run_id)}/inputs/${encodeURIComponent(event.request_id)}`;
  form.dataset.requestId = event.request_id;
  const server = humanizeServer(event.server);
  const message = element('p', 'input-message');
  message.id = `${idPrefix}-message`;
  message.append(element('span', 'input-server', server), ` asks: ${event.message}`);
  form.setAttribute('aria-labelledby', message.id);
  form.append(message);
  if (event.mode === 'url') {
    const line = element('p', 'input-url', 'It asks you to open ');
    const link = element('a', 'input-link', event.url);
    // The server's page, in a new tab: never opened for the user, and nothing of this page reaches it.
    Object.assign(link, { href: event.url, target: '_blank', rel: 'noopener noreferrer' });
    line.append(link);
    form.append(line, element('p', 'hint', 'Open the page, do what it asks there, then choose Done.'));
  } else {
    for (const field of formFields(event.requested_schema, idPrefix)) form.append(fieldNode(field));
  }
  const problem = element('p', 'error');
  problem.setAttribute('role', 'alert');
  const buttons = element('div', 'buttons');
  const choices = [
    ['accept', event.mode === 'url' ? 'Done' : 'Send', ''],
    ['decline', 'Decline', 'secondary'],
    ['cancel', 'Cancel', 'secondary'],
  ].map(([value, text, className]) => {
    const button = element('button', className, text);
    Object.assign(button, { type: 'submit', name: 'action', value });
    if (value !== 'accept') button.formNoValidate = true;
    buttons.append(button);
    return button;
  });
  form.append(problem, buttons);

  const clearErrors = () => {
    problem.textContent = '';
    for (const node of form.querySelectorAll('.field-error')) node.remove();
    for (const node of form.querySelectorAll('[aria-invalid]')) node.removeAttribute('aria-invalid');
  };
  const showIssues = (issues, fallback) => {
    let focus;
    const rest = [];
    for (const issue of issues ?? []) {
      const control = issue.field ? form.querySelector(`[name="${CSS.escape(issue.field)}"]`) : null;
      const holder = control?.closest('.field');
      if (!control || !holder) {
        rest.push(issue.message);
        continue;
      }
      const error = element('p', 'error field-error', issue.message);
      error.id = `${holder.id || control.id}-error`;
      holder.append(error);
      const target = holder.tagName === 'FIELDSET' ? holder : control;
      target.setAttribute('aria-invalid', 'true');
      target.setAttribute(
        'aria-describedby',
        [target.getAttribute('aria-describedby'), error.id].filter(Boolean).join(' '),
      );
      focus ??= control;
    }
    problem.textContent = rest.length > 0 ? rest.join(' ') : focus ? '' : fallback;
    focus?.focus();
  };

  form.addEventListener('submit', async (submitted) => {
    submitted.preventDefault();
    const action = submitted.submitter?.value ?? 'accept';
    const body =
      action === 'accept' && event.mode === 'form'
        ? new URLSearchParams(new FormData(form))
        : new URLSearchParams({ _csrf: csrf, session_id: sessionId });
    body.set('_csrf', csrf);
    body.set('session_id', sessionId);
    body.set('action', action);
    clearErrors();
    for (const button of choices) button.disabled = true;
    form.setAttribute('aria-busy', 'true');
    const response = await submit(form.getAttribute('action'), body).catch(() => undefined);
    form.removeAttribute('aria-busy');
    if (response?.ok) return; // The run's input_resolved replaces the form.
    for (const button of choices) button.disabled = false;
    const answer = await response?.json().catch(() => ({}));
    showIssues(answer?.error?.issues, answer?.error?.message ?? 'That did not go through. Try again.');
  });

  return {
    root: form,
    /** Moves the focus to the form's first control (the run waits for it). */
    focus() {
      form.querySelector('input:not([type="hidden"]), select, a, button')?.focus();
    },
    announcement: `${server} asks: ${event.message}`,
    /** Replaces the form with what became of it. */
    resolve(action) {
      const done = element('p', 'input-answer', inputActionWords[action] ?? inputActionWords.cancel);
      done.setAttribute('role', 'status');
      form.replaceWith(done);
      announce?.(done.textContent);
    },
  };
}
