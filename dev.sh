#!/usr/bin/env bash
# The two set-up commands of README.md, on a fresh Debian/Ubuntu machine with Python 3.11+:
#   ./dev.sh run    install posguard into .venv and run it (paper mode, built-in simulator, SQLite)
#   ./dev.sh test   install posguard with its test extras into .venv and run the whole test suite
# Extra arguments go to `posguard run` or to pytest.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}

need_python() {
  "$PY" - <<'PYEOF' || { echo "dev.sh: Python 3.11 or newer is required (found $($PY --version 2>&1))" >&2; exit 2; }
import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)
PYEOF
}

venv() {
  need_python
  if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv || { echo "dev.sh: cannot create a virtualenv; on Debian/Ubuntu: apt-get install python3-venv" >&2; exit 2; }
  fi
  # pip's chatter goes to a log; shown only if the install fails.
  if ! .venv/bin/python -m pip install -e ".$1" > .venv/pip-install.log 2>&1; then
    tail -40 .venv/pip-install.log >&2; echo "dev.sh: pip install failed (log: .venv/pip-install.log)" >&2; exit 2
  fi
}

case "${1:-}" in
  run)
    shift; venv ""
    exec .venv/bin/posguard run "$@" ;;
  test)
    shift; venv "[test]"
    # PostgreSQL server binaries are required (the fixtures start a throwaway server);
    # missing ones FAIL the PostgreSQL tests, they are never skipped.
    if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
      echo "dev.sh: no PostgreSQL server binaries found (Debian/Ubuntu: apt-get install postgresql); the PostgreSQL tests will fail" >&2
    fi
    exec .venv/bin/python -m pytest "$@" ;;
  *)
    echo "usage: ./dev.sh run [posguard run options] | ./dev.sh test [pytest options]" >&2; exit 2 ;;
esac
