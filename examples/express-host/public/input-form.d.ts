// Types of input-form.js, so the server's TypeScript imports the same module the browser runs.

/** One option of a single or multiple choice. */
export interface InputFieldOption {
  readonly value: string;
  readonly label: string;
  readonly id?: string;
  readonly checked?: boolean;
  readonly selected?: boolean;
}

/** One field of a tool's form, ready to render. */
export interface InputFieldView {
  readonly name: string;
  readonly id: string;
  readonly label: string;
  readonly description: string;
  readonly required: boolean;
  readonly control: 'text' | 'number' | 'checkbox' | 'select' | 'checkboxes';
  readonly inputType?: 'text' | 'email' | 'url' | 'date';
  readonly value?: string;
  readonly checked?: boolean;
  readonly empty?: boolean;
  readonly options?: readonly InputFieldOption[];
  readonly step?: string;
  readonly min?: string;
  readonly max?: string;
  readonly minLength?: string;
  readonly maxLength?: string;
  readonly hint?: string;
  /** The description and the hint together, for `aria-describedby`. */
  readonly help: string;
}

export declare const fieldPrefix: string;
export declare const inputActionWords: Readonly<Record<'accept' | 'decline' | 'cancel', string>>;
export declare function formFields(schema: unknown, idPrefix: string): InputFieldView[];
export declare function contentOf(
  schema: unknown,
  fields: Readonly<Record<string, unknown>>,
): {
  content: Record<string, string | number | boolean | string[]>;
  issues: { path: string; message: string }[];
};
