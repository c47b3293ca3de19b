#!/usr/bin/env bash
# Installs what TorMR needs on Debian: the missing system packages, then the npm workspaces.
# Safe to run again: apt is only touched when a package is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# One entry per system package, as "<apt package>:<command it provides>".
# A package counts as installed when its command is on the PATH. Append new needs here.
SYSTEM_PACKAGES=(
  "python3:python3"     # the Hadoop Streaming examples and tests run Python mappers
  "make:make"           # node-gyp, for native npm packages (better-sqlite3 builds from source here)
  "g++:g++"             # node-gyp
  "docker.io:dockerd"   # the Docker sandbox (packages/sandbox starts its own dockerd; no systemd)
  "bubblewrap:bwrap"    # the bubblewrap sandbox, where Docker is absent
  "systemd:systemd-analyze"  # checks the worker's systemd unit file in its tests
  "tor:tor"             # onion services and SOCKS; packages/tor's tests run a private Tor network
  "strace:strace"       # the leak test traces a Tor-mode worker's connect, sendto and sendmsg calls
  "chromium:chromium"   # the board's browser tests (Playwright drives Debian's Chromium; nothing downloads)
)

missing=()
for entry in "${SYSTEM_PACKAGES[@]}"; do
  package="${entry%%:*}"
  command_name="${entry#*:}"
  if ! command -v "$command_name" >/dev/null 2>&1; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing system packages: ${missing[*]}" >&2
    echo "setup: install them, then run 'npm run setup' again:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: system packages present (${SYSTEM_PACKAGES[*]%%:*})"
fi

echo "setup: npm ci"
npm ci --no-audit --no-fund
# The Prisma clients are generated, not committed (packages/db/src/generated is gitignored).
echo "setup: prisma generate"
npm run db:generate --silent
echo "setup: done"
