// Types of tool-words.js, so the server's TypeScript imports the same module the browser runs.
export declare function humanize(name: string): string;
export declare function toolTitle(slug: string, title?: string): { title: string; server: string };
export declare function summarizeArguments(args: unknown): [label: string, value: string][];
export declare function summarizeResult(result: unknown): string[];
export declare function describeToolError(error: { code?: string } | undefined): string;
export declare const statusWords: Readonly<Record<string, string>>;
export declare const endingWords: Readonly<Record<string, string>>;
export declare function describeRunError(code: string | undefined, message: string | undefined): string;
