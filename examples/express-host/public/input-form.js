// A tool's request for input (MCP elicitation) as a form people fill in. One module for the
// server's page (a form that works without script) and the browser's script (the same form,
// built live): plain data in, plain data out, no DOM. The requested schema is MCP's restricted
// one: a flat object of strings, numbers, booleans, single and multiple choices.

/** Form fields carry this prefix, so no field of a server's form can collide with the page's own. */
export const fieldPrefix = 'field.';

/** How an answered request reads on its card. */
export const inputActionWords = {
  accept: 'You answered.',
  decline: 'You declined.',
  cancel: 'Cancelled: nobody answered in time, or the answer was stopped.',
};

function choicesOf(field) {
  if (Array.isArray(field.oneOf))
    return field.oneOf.map((option) => ({ value: option.const, label: option.title }));
  if (Array.isArray(field.enum))
    return field.enum.map((value, index) => ({
      value,
      label:
        Array.isArray(field.enumNames) && typeof field.enumNames[index] === 'string'
          ? field.enumNames[index]
          : value,
    }));
  const items = field.items ?? {};
  if (Array.isArray(items.anyOf))
    return items.anyOf.map((option) => ({ value: option.const, label: option.title }));
  if (Array.isArray(items.enum)) return items.enum.map((value) => ({ value, label: value }));
  return [];
}

const inputTypes = { email: 'email', uri: 'url', date: 'date' };
const formatHints = {
  email: 'An email address.',
  uri: 'A web address (https://…).',
  'date-time': 'A date and time, like 2026-05-01T09:00:00Z.',
};

/** One field's view, before its help text is put together. */
function fieldView(name, field, id, required) {
  const base = {
    name: `${fieldPrefix}${name}`,
    id,
    label: typeof field.title === 'string' && field.title.trim() !== '' ? field.title : name,
    description: typeof field.description === 'string' ? field.description : '',
    required,
  };
  if (field.type === 'boolean') return { ...base, control: 'checkbox', checked: field.default === true };
  if (field.type === 'array') {
    const chosen = new Set(Array.isArray(field.default) ? field.default : []);
    const limits = [
      field.minItems === undefined ? '' : `at least ${field.minItems}`,
      field.maxItems === undefined ? '' : `at most ${field.maxItems}`,
    ].filter((text) => text !== '');
    return {
      ...base,
      control: 'checkboxes',
      hint: limits.length === 0 ? '' : `Choose ${limits.join(' and ')}.`,
      options: choicesOf(field).map((option, optionIndex) => ({
        ...option,
        id: `${id}-${optionIndex}`,
        checked: chosen.has(option.value),
      })),
    };
  }
  if (field.type === 'string' && (Array.isArray(field.enum) || Array.isArray(field.oneOf)))
    return {
      ...base,
      control: 'select',
      options: choicesOf(field).map((option) => ({ ...option, selected: option.value === field.default })),
      // Nothing chosen yet is a choice of its own, so a required field is never chosen for the user.
      empty: field.default === undefined,
    };
  if (field.type === 'number' || field.type === 'integer')
    return {
      ...base,
      control: 'number',
      value: field.default === undefined ? '' : String(field.default),
      step: field.type === 'integer' ? '1' : 'any',
      ...(field.minimum === undefined ? {} : { min: String(field.minimum) }),
      ...(field.maximum === undefined ? {} : { max: String(field.maximum) }),
      hint:
        field.minimum !== undefined && field.maximum !== undefined
          ? `From ${field.minimum} to ${field.maximum}.`
          : field.type === 'integer'
            ? 'A whole number.'
            : '',
    };
  return {
    ...base,
    control: 'text',
    inputType: inputTypes[field.format] ?? 'text',
    value: typeof field.default === 'string' ? field.default : '',
    ...(field.minLength === undefined ? {} : { minLength: String(field.minLength) }),
    ...(field.maxLength === undefined ? {} : { maxLength: String(field.maxLength) }),
    hint: formatHints[field.format] ?? '',
  };
}

/**
 * The fields of a requested form, in the server's order, ready to render: each has the control
 * it needs (`text`, `number`, `checkbox`, `select`, `checkboxes`), its label, whether it is
 * required, its default as the starting value, its limits as HTML attributes, and `help` (the
 * server's description and what the limits are). `idPrefix` keeps ids unique on the page.
 */
export function formFields(schema, idPrefix) {
  const required = new Set(Array.isArray(schema?.required) ? schema.required : []);
  return Object.entries(schema?.properties ?? {}).map(([name, field], index) => {
    const view = fieldView(name, field, `${idPrefix}-${index}`, required.has(name));
    // The server's description as a sentence, then what the limits are.
    const description = view.description.trim();
    const sentence = description === '' || /[.!?]$/.test(description) ? description : `${description}.`;
    const help = [sentence, view.hint ?? ''].filter((text) => text !== '').join(' ');
    return { ...view, help };
  });
}

const first = (value) => (Array.isArray(value) ? value[0] : value);

/**
 * The content of a submitted form, read by the requested schema: numbers as numbers, a checkbox
 * as true or false, several choices as a list; a field left empty is left out (the server's
 * default, or "required", applies). `fields` are the form's fields as posted (strings, or lists
 * of strings for a repeated name). What does not read as its type is an issue, by field name.
 */
export function contentOf(schema, fields) {
  const required = new Set(Array.isArray(schema?.required) ? schema.required : []);
  const content = {};
  const issues = [];
  for (const [name, field] of Object.entries(schema?.properties ?? {})) {
    const raw = fields[`${fieldPrefix}${name}`];
    if (field.type === 'boolean') {
      content[name] = first(raw) === 'true';
      continue;
    }
    if (field.type === 'array') {
      const values = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).filter(
        (value) => typeof value === 'string' && value !== '',
      );
      if (values.length > 0) content[name] = values;
      // A group of checkboxes cannot be required in HTML: say it here, in the form's words.
      const least = Math.max(required.has(name) ? 1 : 0, values.length > 0 ? (field.minItems ?? 0) : 0);
      if (values.length < least) issues.push({ path: name, message: `Choose at least ${least}.` });
      continue;
    }
    const value = first(raw);
    if (typeof value !== 'string' || value.trim() === '') continue;
    if (field.type === 'number' || field.type === 'integer') {
      const number = Number(value.trim());
      if (Number.isFinite(number)) content[name] = number;
      else issues.push({ path: name, message: 'must be a number' });
      continue;
    }
    content[name] = value;
  }
  return { content, issues };
}
