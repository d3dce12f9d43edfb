import { z } from 'zod';
import { defineTool, type Tool } from '../tools/define-tool.ts';

const mailInput = z.object({ to: z.string() });

/**
 * A side-effect `send_email` tool that records every address it "sends" to, for tests that
 * count side effects: it needs approval under the default consent policy, and `sent` shows
 * whether (and how often) it really ran.
 *
 * @example
 * ```ts
 * const { tool, sent } = createMailTool();
 * const assistant = new Assistant({ model, tools: [tool] });
 * // …approve the call…
 * expect(sent).toEqual(['bob@example.com']);
 * ```
 */
export function createMailTool(): {
  tool: Tool<typeof mailInput, { sent: boolean; to: string }>;
  sent: string[];
} {
  const sent: string[] = [];
  const tool = defineTool({
    name: 'send_email',
    description: 'Sends an email',
    input: mailInput,
    sideEffect: true,
    execute: ({ to }) => {
      sent.push(to);
      return { sent: true, to };
    },
  });
  return { tool, sent };
}
