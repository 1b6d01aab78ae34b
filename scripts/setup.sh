#!/usr/bin/env bash
# Installs what firedrill needs on this machine, and only what is missing:
#   scripts/setup.sh          PostgreSQL server + npm dependencies + build (enough for drills)
#   scripts/setup.sh --test   also what the test suite drives: MariaDB, Chromium, Podman and
#                             the container image the docker provider's tests run
# Idempotent: a second run installs nothing. System packages come from apt (Debian/Ubuntu);
# elsewhere it says what to install by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=false
for arg in "$@"; do
  case "$arg" in
    --test) want_test=true ;;
    *) echo "usage: scripts/setup.sh [--test]" >&2; exit 2 ;;
  esac
done

packages=(postgresql)
if $want_test; then packages+=(mariadb-server mariadb-client mariadb-backup pgbackrest barman chromium procps podman runc debootstrap curl openssl); fi

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
  done
else
  # Not Debian: look for the programs themselves.
  command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  if $want_test; then
    command -v mariadbd >/dev/null 2>&1 || missing+=(mariadb-server mariadb-client mariadb-backup)
    command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  fi
fi

if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "firedrill setup: missing ${missing[*]}, and this is not a Debian/Ubuntu machine (no apt-get)." >&2
    echo "Install them with your package manager (PostgreSQL server binaries: initdb, postgres, pg_basebackup), then run this again." >&2
    exit 2
  fi
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "firedrill setup: installing ${missing[*]} needs root; run as root or install sudo" >&2; exit 2; }
    sudo=(sudo)
  fi
  echo "firedrill setup: installing ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Debian's packages start system servers where an init system runs; drills never use them
# (every instance is a throwaway on its own port), so they are left as they are.

# The docker provider's tests run on Podman here: there is no Docker engine to talk to.
if $want_test; then bash scripts/test-containers.sh; fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
