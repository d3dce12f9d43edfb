import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createConsumerProject,
  exec,
  execWithOutput,
  type PackedTarball,
  publishedPackages,
  repositoryRoot,
  tsc,
  writeExamples,
  writeTsconfig,
} from './consumer.ts';

// The packages as a user gets them: packed, installed from the tarballs into a project outside
// the workspace, then used the way each README shows.
let directory: string;
let tarballs: PackedTarball[];
let examples: Awaited<ReturnType<typeof writeExamples>>;

beforeAll(async () => {
  ({ directory, tarballs } = await createConsumerProject());
  examples = await writeExamples(directory);
});

afterAll(async () => {
  if (directory !== undefined) await rm(directory, { recursive: true, force: true });
});

// npm hoists this workspace's tools to the root's node_modules; look in both places.
const bin = (name: string) =>
  [
    join(repositoryRoot, 'tests/packaging/node_modules/.bin', name),
    join(repositoryRoot, 'node_modules/.bin', name),
  ].find((path) => existsSync(path)) ?? name;
const tarballPath = (tarball: PackedTarball) => join(directory, 'tarballs', tarball.filename);

describe('the published packages, installed from their tarballs', () => {
  it('ship dist, README.md, LICENSE and package.json, nothing else', () => {
    expect(tarballs.map((tarball) => tarball.name).sort()).toEqual(
      publishedPackages.map((name) => `@steward/${name}`).sort(),
    );
    for (const tarball of tarballs) {
      const paths = tarball.files.map((file) => file.path);
      expect(paths, tarball.name).toEqual(expect.arrayContaining(['README.md', 'LICENSE', 'package.json']));
      expect(
        paths.filter(
          (path) => !path.startsWith('dist/') && !['README.md', 'LICENSE', 'package.json'].includes(path),
        ),
        tarball.name,
      ).toEqual([]);
    }
  });

  it("run core's and testing's README examples", async () => {
    expect(await exec(process.execPath, [examples.get('core') as string], directory)).toContain(
      'It is 21 °C in Paris.',
    );
    expect(await exec(process.execPath, [examples.get('testing') as string], directory)).toContain(
      'Hello from the mock.',
    );
  });

  it.each(['bundler', 'node16'] as const)(
    'type-check every README example with skipLibCheck off, moduleResolution %s',
    async (resolution) => {
      const tsconfig = await writeTsconfig(directory, resolution);
      await exec(process.execPath, [tsc, '-p', tsconfig], directory);
    },
  );

  it("install storage-postgres's steward-postgres command", async () => {
    const help = await exec(join(directory, 'node_modules/.bin/steward-postgres'), ['--help'], directory);
    expect(help).toContain('Usage: steward-postgres migrate');
  });

  it('pass `npm publish --dry-run` with nothing for npm to correct', async () => {
    const workspaces = publishedPackages.flatMap((name) => ['-w', `@steward/${name}`]);
    const { stderr } = await execWithOutput('npm', ['publish', '--dry-run', ...workspaces], repositoryRoot);
    // npm drops what it cannot publish (e.g. a `bin` path it rejects) with only this warning.
    expect(stderr).not.toMatch(/auto-corrected|npm error/i);
  });

  it('pass publint', async () => {
    for (const tarball of tarballs) {
      await exec(bin('publint'), ['run', tarballPath(tarball), '--strict'], directory);
    }
  });

  it('pass Are the Types Wrong (ESM-only profile; require() is checked on its own)', async () => {
    for (const tarball of tarballs) {
      await exec(
        bin('attw'),
        [tarballPath(tarball), '--profile', 'esm-only', '--format', 'ascii'],
        directory,
      );
    }
  });

  it('load with require() (Node ≥ 22.12 requires ES modules)', async () => {
    // Every entry with code to load on import: not the stdio server (it starts on load) nor the
    // conformance suites (they need vitest, an optional peer).
    const entries = [
      '@steward/core',
      '@steward/core/openai',
      '@steward/core/testing',
      '@steward/testing',
      '@steward/testing/mock-openai',
      '@steward/testing/mock-mcp',
      '@steward/testing/fault-proxy',
      '@steward/mcp',
      '@steward/storage-postgres',
      '@steward/storage-redis',
      '@steward/transport-ws',
      '@steward/transport-ws/client',
      '@steward/transport-ws/testing',
      '@steward/react',
    ];
    await writeFile(
      join(directory, 'require-all.cjs'),
      `for (const entry of ${JSON.stringify(entries)}) {
  const exports = Object.keys(require(entry));
  if (exports.length === 0) throw new Error(entry + ' exports nothing');
  console.log(entry, exports.length);
}
`,
    );
    const output = await exec(process.execPath, ['require-all.cjs'], directory);
    expect(output.trim().split('\n')).toHaveLength(entries.length);
  });

  it("load no MCP SDK for the mock OpenAI server, and no openai for core's root", async () => {
    // Records every module Node resolves while importing one entry.
    await writeFile(
      join(directory, 'loaded.mjs'),
      `import { registerHooks } from 'node:module';
const loaded = [];
registerHooks({ resolve(specifier, context, next) { const result = next(specifier, context); loaded.push(result.url); return result; } });
await import(process.argv[2]);
console.log(JSON.stringify(loaded));
`,
    );
    const loaded = async (entry: string) =>
      JSON.parse(await exec(process.execPath, ['loaded.mjs', entry], directory)) as string[];
    const testingRoot = await loaded('@steward/testing');
    expect(testingRoot.some((url) => url.includes('/@steward/testing/'))).toBe(true);
    expect(testingRoot.filter((url) => url.includes('@modelcontextprotocol'))).toEqual([]);
    expect(testingRoot.filter((url) => url.includes('/node_modules/vitest/'))).toEqual([]);
    const coreRoot = await loaded('@steward/core');
    expect(coreRoot.filter((url) => url.includes('/node_modules/openai/'))).toEqual([]);
  });
});
