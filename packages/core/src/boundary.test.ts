import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const srcDir = new URL('.', import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/g)].map(
    (match) => match[1] as string,
  );
}

describe('core dependency boundaries', () => {
  const files = sourceFiles(srcDir);

  it('core imports no transport, framework or storage engine', () => {
    const forbidden =
      /^(ws|express|next|react|react-dom|pg|ioredis|@electric-sql\/.*|node:http|node:net|node:child_process)$/;
    const offenders = files.flatMap((file) =>
      imports(file)
        .filter((specifier) => forbidden.test(specifier))
        .map((specifier) => `${relative(srcDir, file)} imports ${specifier}`),
    );
    expect(offenders).toEqual([]);
  });

  it('the openai package is used only inside model/openai', () => {
    const offenders = files.flatMap((file) =>
      imports(file)
        .filter((specifier) => specifier === 'openai' || specifier.startsWith('openai/'))
        .filter(() => !relative(srcDir, file).startsWith('model/openai/'))
        .map((specifier) => `${relative(srcDir, file)} imports ${specifier}`),
    );
    expect(offenders).toEqual([]);
  });

  it('the root entry never reaches the openai adapter, so `@steward/core` stays light', () => {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const specifier of imports(file)) {
        expect(
          specifier === 'openai' || specifier.startsWith('openai/'),
          `${relative(srcDir, file)} -> ${specifier}`,
        ).toBe(false);
        if (specifier.startsWith('.')) visit(join(file, '..', specifier));
      }
    };
    visit(join(srcDir, 'index.ts'));
    expect(seen.size).toBeGreaterThan(10);
  });

  it('the token vault reaches no Node API: WebCrypto, atob and btoa only, so it runs in any runtime', () => {
    const seen = new Set<string>();
    const offenders: string[] = [];
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      if (/\bBuffer\b|\bprocess\.|require\(/.test(code)) offenders.push(relative(srcDir, file));
      for (const specifier of imports(file)) {
        if (specifier.startsWith('.')) visit(join(file, '..', specifier));
        else if (specifier !== 'zod') offenders.push(`${relative(srcDir, file)} imports ${specifier}`);
      }
    };
    for (const file of files.filter((path) => relative(srcDir, path).startsWith('vault/'))) visit(file);
    expect(seen.size).toBeGreaterThan(5);
    expect(offenders).toEqual([]);
  });
});
