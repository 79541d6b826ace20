#!/usr/bin/env bash
# Installs what the tests need on Debian (as root, only what is missing), then the npm packages.
# The one list of system packages the tests use; README's test command (`npm run test:all`) runs this first.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  postgresql        # server and e2e tests start a throwaway cluster (initdb, postgres)
  redis-server      # recorder tests: the Redis backend
  hdf5-tools        # recorder tests: h5dump reads the files the HDF5 backend writes
  python3-h5py      # recorder tests: h5py reads them too
  gcc libc6-dev     # CLI tests compile a small C program to run under `simscope run`
  chromium          # web UI tests (driven by playwright-core; no browser is downloaded)
  nginx             # scale-out test: nginx in front of three servers
  # the Python package in python/ and its tests
  python3-pytest python3-numpy python3-pandas python3-msgpack python3-tqdm python3-mypy python3-venv
)

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "test-setup: missing ${missing[*]}; run as root, or: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "test-setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm ci refuses this lock file: npm here records only this platform's build of Biome's optional binaries.
npm install --no-audit --no-fund
