// @vitest-environment node
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';

const srcDir = new URL('.', import.meta.url).pathname;

/** Every `import … from` of a file, with whether it is type-only (erased from the bundle). */
function imports(file: string): { specifier: string; typeOnly: boolean }[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(import|export)\s+(type\s+)?[^'"]*?from\s+['"]([^'"]+)['"]/g)].map(
    (match) => ({ specifier: match[3] as string, typeOnly: match[2] !== undefined }),
  );
}

it('the bundle loads only react and the browser-safe client, never the Node server entry', () => {
  const allowed = new Set(['react', '@steward/transport-ws/client']);
  const typesOnly = new Set(['@steward/core']);
  const seen = new Set<string>();
  const offenders: string[] = [];
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const { specifier, typeOnly } of imports(file)) {
      if (specifier.startsWith('.')) visit(join(file, '..', specifier));
      else if (!allowed.has(specifier) && !(typeOnly && typesOnly.has(specifier)))
        offenders.push(`${relative(srcDir, file)} imports ${specifier}`);
    }
  };
  visit(join(srcDir, 'index.ts'));
  expect(seen.size).toBeGreaterThan(4);
  expect(offenders).toEqual([]);
});
