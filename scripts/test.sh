#!/usr/bin/env bash
# npm test: generate, type-check, lint, then every workspace's tests, all sharing one private Tor network.
#
# Arguments go to the test stage's turbo: `npm test -- --filter=@tormr/tor`. The network is started
# once for the whole run (CI's rule: one per run, not one per suite) and its folder exported as
# TORMR_TESTNET_DIR, which packages/tor/src/testnet/vitest-setup.ts uses in every workspace
# (turbo.json passes TORMR_* through). It is stopped on any exit, and its tors also exit on their
# own once this shell is gone (--owner-pid).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
if ! command -v tor >/dev/null; then
  echo "test.sh: tor is not installed, and the Tor tests need a private Tor network: run 'npm run setup'" >&2
  exit 1
fi

npm run db:generate
turbo run typecheck
biome check .

testnet=(node packages/tor/bin/tormr-testnet.js)
testnet_dir=""
stop_testnet() {
  local status=$?
  trap - EXIT INT TERM
  if [[ -n $testnet_dir ]]; then
    "${testnet[@]}" down --dir "$testnet_dir" >&2 || status=1
  fi
  exit "$status"
}
trap stop_testnet EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "test.sh: starting the private Tor network for this run" >&2
started=$(date +%s%N)
# Its JSON goes to stdout, its progress (and tor's message, if it fails) to stderr.
if ! state=$("${testnet[@]}" up --clients 3 --owner-pid $$); then
  echo "test.sh: the private Tor network did not start (tormr-testnet said why above); no tests run" >&2
  exit 1
fi
testnet_dir=$(node -e 'process.stdout.write(JSON.parse(require("node:fs").readFileSync(0, "utf8")).dir)' <<<"$state")
elapsed=$(awk -v a="$started" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
echo "test.sh: private Tor network up in ${elapsed} s (${testnet_dir})" >&2
export TORMR_TESTNET_DIR="$testnet_dir"

turbo run test --concurrency=1 "$@"
