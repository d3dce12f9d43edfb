// Types of connect-card.js, for the server's TypeScript.
export declare function connectionOutcomeWords(outcome: string, server: string): string;
