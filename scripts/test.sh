#!/usr/bin/env bash
# Set up (first run only: .venv with the test tools, and Debian's Chromium for the browser
# tests) and run the tests. Extra arguments go to pytest, e.g.
# `bash scripts/test.sh -m "not slow"` for the fast subset.
EXTRA="[dev]"
. "$(dirname "$0")/venv.sh"
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian's chromium for the browser tests (first run only)..." >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "The browser tests need Debian's chromium: sudo apt-get update &&" \
      "sudo apt-get install -y chromium" >&2
  fi
fi
exec python -m pytest "$@"
