import { describe, expect, it } from 'vitest';
import { contentOf, formFields } from '../../public/input-form.js';

// The form of a tool's request for input, as server-everything's elicitation tool asks it: every
// kind of field MCP's restricted schema has.
const schema = {
  type: 'object',
  properties: {
    name: { type: 'string', title: 'Name', description: 'Your full name' },
    agree: { type: 'boolean', title: 'Agree', default: true },
    email: { type: 'string', format: 'email' },
    count: { type: 'integer', minimum: 1, maximum: 100, default: 42 },
    ratio: { type: 'number' },
    friend: { type: 'string', enum: ['Monica', 'Ross'], default: 'Ross' },
    hero: { type: 'string', oneOf: [{ const: 'hero-1', title: 'Superman' }] },
    pet: { type: 'string', enum: ['pet-1', 'pet-2'], enumNames: ['Cats', 'Dogs'] },
    tools: { type: 'array', minItems: 2, items: { type: 'string', enum: ['Guitar', 'Piano', 'Drums'] } },
    fish: { type: 'array', items: { anyOf: [{ const: 'fish-1', title: 'Tuna' }] }, default: ['fish-1'] },
  },
  required: ['name', 'tools'],
} as const;

describe('formFields', () => {
  it('gives every field the control, label, default, limits and help it needs', () => {
    const fields = formFields(schema, 'f');
    const by = Object.fromEntries(fields.map((field) => [field.name, field]));
    expect(fields.map((field) => field.control)).toEqual([
      'text',
      'checkbox',
      'text',
      'number',
      'number',
      'select',
      'select',
      'select',
      'checkboxes',
      'checkboxes',
    ]);
    expect(by['field.name']).toMatchObject({ label: 'Name', required: true, help: 'Your full name.' });
    expect(by['field.agree']).toMatchObject({ checked: true, required: false });
    expect(by['field.email']).toMatchObject({
      label: 'email',
      inputType: 'email',
      help: 'An email address.',
    });
    expect(by['field.count']).toMatchObject({
      value: '42',
      step: '1',
      min: '1',
      max: '100',
      help: 'From 1 to 100.',
    });
    expect(by['field.ratio']).toMatchObject({ value: '', step: 'any' });
    expect(by['field.friend']).toMatchObject({ empty: false });
    expect(by['field.friend']?.options?.find((option) => option.selected)?.value).toBe('Ross');
    expect(by['field.hero']).toMatchObject({
      empty: true,
      options: [{ value: 'hero-1', label: 'Superman' }],
    });
    expect(by['field.pet']?.options?.map((option) => option.label)).toEqual(['Cats', 'Dogs']);
    expect(by['field.tools']).toMatchObject({ required: true, help: 'Choose at least 2.' });
    expect(by['field.fish']?.options).toEqual([
      { value: 'fish-1', label: 'Tuna', id: 'f-9-0', checked: true },
    ]);
  });
});

describe('contentOf', () => {
  it('reads posted fields by the schema: numbers, checkboxes, lists; empty fields left out', () => {
    const { content, issues } = contentOf(schema, {
      'field.name': 'Ada',
      'field.count': '7',
      'field.ratio': '',
      'field.friend': 'Monica',
      'field.tools': ['Guitar', 'Drums'],
      'field.fish': 'fish-1',
      'field.email': '  ',
      _csrf: 'ignored',
    });
    expect(issues).toEqual([]);
    expect(content).toEqual({
      name: 'Ada',
      agree: false,
      count: 7,
      friend: 'Monica',
      tools: ['Guitar', 'Drums'],
      fish: ['fish-1'],
    });
  });

  it('says what does not read as its type, and a checkbox group left short, in the form’s words', () => {
    expect(contentOf(schema, { 'field.count': 'seven', 'field.tools': 'Piano' }).issues).toEqual([
      { path: 'count', message: 'must be a number' },
      { path: 'tools', message: 'Choose at least 2.' },
    ]);
    expect(contentOf(schema, {}).issues).toEqual([{ path: 'tools', message: 'Choose at least 1.' }]);
  });
});
