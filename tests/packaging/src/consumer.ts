import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const repositoryRoot = resolve(import.meta.dirname, '../../..');

/** The packages published to npm, as directories under `packages/`. */
export const publishedPackages = [
  'core',
  'testing',
  'mcp',
  'storage-postgres',
  'storage-redis',
  'transport-ws',
  'react',
] as const;

export type PublishedPackage = (typeof publishedPackages)[number];

/** What `npm pack --json` reports of one tarball. */
export interface PackedTarball {
  readonly name: string;
  readonly filename: string;
  readonly files: readonly { readonly path: string }[];
}

/** Runs a command; on failure, the error message carries its output. */
export async function exec(command: string, args: readonly string[], cwd: string): Promise<string> {
  return (await execWithOutput(command, args, cwd, 'error')).stdout;
}

/** {@link exec}, with stderr too, at npm log level `loglevel`. */
export async function execWithOutput(
  command: string,
  args: readonly string[],
  cwd: string,
  loglevel: 'error' | 'warn' = 'warn',
): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(command, args, {
      cwd,
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, npm_config_loglevel: loglevel, NO_COLOR: '1' },
    });
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `${command} ${args.join(' ')} failed in ${cwd}:\n${failure.stdout ?? ''}\n${failure.stderr ?? ''}`,
      {
        cause: error,
      },
    );
  }
}

/** The first ```ts or ```tsx block under a package README's `## Example` heading. */
export function exampleOf(readme: string): { code: string; tsx: boolean } {
  const match = /^## Example\n[\s\S]*?^```(tsx?)\n([\s\S]*?)^```/m.exec(readme);
  if (match?.[1] === undefined || match[2] === undefined)
    throw new Error('The README has no ## Example code block');
  return { code: match[2], tsx: match[1] === 'tsx' };
}

/** The version the workspace pins for a dependency, so the consumer installs from the npm cache. */
async function workspaceVersion(name: string): Promise<string> {
  // Read from disk: some packages (openai) do not export their package.json.
  const manifest = await readFile(join(repositoryRoot, 'node_modules', name, 'package.json'), 'utf8');
  return (JSON.parse(manifest) as { version: string }).version;
}

/**
 * Packs every published package and installs the tarballs, with the peers a user would add,
 * into a new project in the system's temp directory: outside the workspace, so nothing resolves
 * to a workspace link or a hoisted copy.
 */
export async function createConsumerProject(): Promise<{ directory: string; tarballs: PackedTarball[] }> {
  for (const name of publishedPackages) {
    if (!existsSync(join(repositoryRoot, 'packages', name, 'dist'))) {
      throw new Error(`packages/${name}/dist is missing: build first (npx turbo run build)`);
    }
  }
  const directory = await mkdtemp(join(tmpdir(), 'steward-packaging-'));
  const tarballDirectory = join(directory, 'tarballs');
  await mkdir(tarballDirectory);
  const workspaces = publishedPackages.flatMap((name) => ['-w', `@steward/${name}`]);
  const packed = JSON.parse(
    await exec(
      'npm',
      ['pack', '--json', '--pack-destination', tarballDirectory, ...workspaces],
      repositoryRoot,
    ),
  ) as PackedTarball[];
  const dependencies: Record<string, string> = {};
  for (const tarball of packed)
    dependencies[tarball.name] = `file:${join(tarballDirectory, tarball.filename)}`;
  for (const name of ['zod', 'openai', 'react', '@types/node', '@types/react']) {
    dependencies[name] = await workspaceVersion(name);
  }
  await writeFile(
    join(directory, 'package.json'),
    `${JSON.stringify({ name: 'steward-consumer', private: true, type: 'module', dependencies }, null, 2)}\n`,
  );
  await exec(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock'],
    directory,
  );
  return { directory, tarballs: packed };
}

/** Writes each package README's example into `examples/<package>.ts(x)`; returns the file names. */
export async function writeExamples(directory: string): Promise<Map<PublishedPackage, string>> {
  await mkdir(join(directory, 'examples'), { recursive: true });
  const files = new Map<PublishedPackage, string>();
  for (const name of publishedPackages) {
    const readme = await readFile(join(directory, 'node_modules/@steward', name, 'README.md'), 'utf8');
    const { code, tsx } = exampleOf(readme);
    const file = `examples/${name}.${tsx ? 'tsx' : 'ts'}`;
    // `export {}` keeps each file a module, so top-level names never clash between examples.
    await writeFile(join(directory, file), `${code}\nexport {};\n`);
    files.set(name, file);
  }
  return files;
}

/** A strict tsconfig for the examples under one module resolution; library checks on. */
export async function writeTsconfig(directory: string, resolution: 'bundler' | 'node16'): Promise<string> {
  const file = `tsconfig.${resolution}.json`;
  const compilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    target: 'ES2023',
    lib: ['ES2024', 'DOM'],
    types: ['node'],
    jsx: 'react-jsx',
    ...(resolution === 'bundler'
      ? { module: 'ESNext', moduleResolution: 'bundler' }
      : { module: 'node16', moduleResolution: 'node16' }),
  };
  await writeFile(join(directory, file), JSON.stringify({ compilerOptions, include: ['examples'] }, null, 2));
  return file;
}

/** The workspace's TypeScript compiler: the consumer needs no copy of its own. */
export const tsc = createRequire(join(repositoryRoot, 'package.json')).resolve('typescript/bin/tsc');
