import { createHash } from 'node:crypto';

const invalid = /[^a-zA-Z0-9_-]/g;

/**
 * @internal The name the model sees for `tool` of `server`: `<server>__<tool>`, with characters
 * OpenAI rejects replaced and long names cut to 64 with a short hash, so two tools never collide.
 */
export function modelToolName(server: string, tool: string): string {
  const name = `${server}__${tool.replace(invalid, '_')}`;
  if (name.length <= 64 && name === `${server}__${tool}`) return name;
  const hash = createHash('sha256').update(`${server}\u0000${tool}`).digest('hex').slice(0, 8);
  return `${name.slice(0, 55)}_${hash}`;
}
