# Sourced by ./run and ./test: make .venv and install the project into it when needed.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3.11}
if ! command -v "$PYTHON" >/dev/null; then
  echo "Python 3.11 is required ($PYTHON not found); set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# Reinstall when pyproject.toml changed since the last install; the log is shown only on failure.
if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
  echo "Installing into .venv (the first time takes a minute or two)..."
  if ! { .venv/bin/python -m pip install --upgrade pip && .venv/bin/python -m pip install -e '.[test,production]'; } \
      >.venv/install.log 2>&1; then
    cat .venv/install.log >&2
    echo "Installing failed; the log above is also in .venv/install.log" >&2
    exit 1
  fi
  touch .venv/.installed
fi
