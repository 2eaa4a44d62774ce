# Sourced by the scripts: creates .venv and installs a requirements file when it changed.
# usage: ensure_venv requirements/dev.txt
ensure_venv() {
  local req="$1"
  local python="${PYTHON:-python3.11}"
  command -v "$python" >/dev/null 2>&1 || python=python3
  if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv with $($python --version)"
    "$python" -m venv .venv
  fi
  local stamp=".venv/.installed-$(basename "$req" .txt)"
  local digest
  digest=$(cat requirements/*.txt | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
    echo "==> installing $req"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$req" 2>&1 | grep -v "^WARNING: Location" || true
    .venv/bin/python -c "import django, celery, channels" || { echo "installing $req failed" >&2; exit 1; }
    echo "$digest" > "$stamp"
  fi
}
