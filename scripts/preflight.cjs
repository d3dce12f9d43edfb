// Runs before an example's start script (npm's `prestart`): a clear message instead of
// ERR_UNKNOWN_FILE_EXTENSION on an old Node, and a build of the packages the example uses
// when a fresh clone has none yet. Plain CommonJS, so any Node can run it.
'use strict';
const { existsSync, readFileSync } = require('node:fs');
const { join, resolve } = require('node:path');
const { spawnSync } = require('node:child_process');

const root = resolve(__dirname, '..');
const workspace = process.env.npm_package_name || 'this example';
const command =
  process.env.npm_lifecycle_event === undefined
    ? 'start'
    : process.env.npm_lifecycle_event.replace(/^pre/, '');
const [major, minor] = process.versions.node.split('.').map(Number);

// The examples run their TypeScript directly: Node strips types by default from 22.18 and 23.6.
if (major < 22 || (major === 22 && minor < 18) || (major === 23 && minor < 6)) {
  console.error(
    `\n${workspace} needs Node >= 22.18 (it runs TypeScript directly); this is Node ${process.versions.node}.\n` +
      `Run it with a local Node 24 instead (installed on first use from the npm registry):\n\n` +
      `  bash scripts/with-node.sh npm run ${command} -w ${workspace}\n`,
  );
  process.exit(1);
}

if (!existsSync(join(root, 'node_modules'))) {
  console.error(
    `\nDependencies are not installed: run \`npm ci\` first (or \`bash scripts/with-node.sh npm run ${command} -w ${workspace}\`).\n`,
  );
  process.exit(1);
}

const manifest = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8'));
const used = Object.keys(Object.assign({}, manifest.dependencies, manifest.devDependencies)).filter((name) =>
  name.startsWith('@steward/'),
);
const unbuilt = used.filter((name) => {
  const directory = join(root, 'packages', name.slice('@steward/'.length));
  return existsSync(directory) && !existsSync(join(directory, 'dist'));
});
if (unbuilt.length > 0) {
  console.error(`Building ${unbuilt.join(', ')} first (a fresh clone has no dist yet)…`);
  const build = spawnSync(
    'npx',
    ['turbo', 'run', 'build', `--filter=${workspace}^...`, '--output-logs=errors-only'],
    {
      cwd: root,
      stdio: 'inherit',
      shell: process.platform === 'win32',
    },
  );
  if (build.status !== 0) process.exit(build.status === null ? 1 : build.status);
}
