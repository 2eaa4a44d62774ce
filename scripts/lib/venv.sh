# Sourced by the scripts: creates .venv and installs hash-locked requirement files when they changed.
# usage: ensure_venv requirements/base.txt requirements/doubles.txt ...
#
# All the files go to one pip call so pip resolves them as one set (the locks are compiled to agree,
# see scripts/lock_requirements.sh) and checks every download against its hash. A failed pip call
# stops the calling script and writes no stamp, so the next run installs again instead of trusting
# a half-installed .venv.

# The pip that new environments get, as docker/Dockerfile does; requirements/dev.txt locks the same one.
VENV_PIP_VERSION=26.3

# _venv_pip WHAT PIP-ARGS...: runs pip quietly; on failure prints all it said and returns its status.
_venv_pip() {
  local what="$1"; shift
  local output status=0
  output=$(.venv/bin/python -m pip "$@" --quiet --disable-pip-version-check 2>&1) || status=$?
  # Some machines list file:// indexes that hold only a few packages; pip warns about each miss.
  output=$(grep -v "^WARNING: Location" <<<"$output" || true)
  if [ "$status" -ne 0 ]; then
    [ -n "$output" ] && printf '%s\n' "$output" >&2
    echo "ERROR: $what failed (pip exit status $status); nothing was stamped, the next run retries." >&2
    return "$status"
  fi
  [ -n "$output" ] && printf '%s\n' "$output"
  return 0
}

ensure_venv() {
  if [ "$#" -eq 0 ]; then
    echo "usage: ensure_venv REQUIREMENTS_FILE..." >&2
    exit 2
  fi
  local req
  for req in "$@"; do
    [ -f "$req" ] || { echo "ERROR: $req not found" >&2; exit 1; }
  done

  local python="${PYTHON:-python3.11}"
  command -v "$python" >/dev/null 2>&1 || python=python3
  if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv with $($python --version)"
    "$python" -m venv .venv || { echo "ERROR: $python -m venv .venv failed" >&2; exit 1; }
    if ! _venv_pip "installing pip $VENV_PIP_VERSION" install "pip==$VENV_PIP_VERSION"; then
      # A .venv with the wrong pip would otherwise be taken as ready by the next run.
      rm -rf .venv
      exit 1
    fi
  fi

  local names stamp digest
  names=$(for req in "$@"; do basename "$req" .txt; done | paste -sd+ -)
  stamp=".venv/.installed-$names"
  digest=$(cat "$@" | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
    echo "==> installing $*"
    local args=()
    for req in "$@"; do args+=(-r "$req"); done
    _venv_pip "installing $*" install --require-hashes "${args[@]}" || exit 1
    echo "$digest" >"$stamp"
  fi
}
