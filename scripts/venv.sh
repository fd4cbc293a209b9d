# Sourced by scripts/app.sh and scripts/test.sh: make .venv ready, then activate it.
# The first run creates .venv and installs the project; later runs skip pip entirely while
# requirements*.txt and pyproject.toml are unchanged (a stamp in .venv records their hash),
# so the app starts in seconds the second time. EXTRA="[dev]" installs the test tools too.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
EXTRA="${EXTRA:-}"
stamp=".venv/.har-installed${EXTRA:+-dev}"
want="$(cat requirements.txt requirements-dev.txt pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
installed() { [ "$(cat "$1" 2>/dev/null)" = "$want" ]; }
# the test set-up installs everything the app needs too
if ! installed "$stamp" && ! installed .venv/.har-installed-dev; then
  echo "Setting up .venv (first run, or the requirements changed)..." >&2
  export PIP_DISABLE_PIP_VERSION_CHECK=1
  pip install -q -e ".${EXTRA}"
  echo "$want" > "$stamp"
fi
