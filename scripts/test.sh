#!/usr/bin/env bash
# Set up (first run only, with the test tools) and run the tests. Extra arguments go to
# pytest, e.g. `bash scripts/test.sh -m "not slow"` for the fast subset.
EXTRA="[dev]"
. "$(dirname "$0")/venv.sh"
exec python -m pytest "$@"
