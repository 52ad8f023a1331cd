# shellcheck shell=bash
# Sourced by the entry scripts: builds .venv on first use (and again when
# pyproject.toml changes) and installs the Debian packages a command needs.
set -euo pipefail

PROJECT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$PROJECT_ROOT/.venv"
export PYTHONPATH="$PROJECT_ROOT${PYTHONPATH:+:$PYTHONPATH}"

say() { printf '==> %s\n' "$*" >&2; }

find_python() {
  for candidate in python3.11 python3.12 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] < (3, 13)))'; then
      command -v "$candidate"; return 0
    fi
  done
  echo "error: Python 3.11 or 3.12 is required (found none on PATH)" >&2
  return 1
}

# ensure_venv EXTRAS: EXTRAS is "" or "test".
ensure_venv() {
  local extras="${1:-}"
  local stamp="$VENV/.relaymd-stamp"
  local wanted
  wanted="$(sha256sum "$PROJECT_ROOT/pyproject.toml" | cut -c1-16)${extras:+-$extras}"
  if [[ -f "$stamp" ]] && { [[ "$(cat "$stamp")" == "$wanted" ]] ||
       [[ -z "$extras" && "$(cat "$stamp")" == "${wanted}-test" ]]; }; then
    link_checkout
    compile_package
    return 0
  fi
  local python
  python="$(find_python)"
  if [[ ! -x "$VENV/bin/python" ]]; then
    ensure_python_venv "$python"
    say "Creating $VENV"
    "$python" -m venv "$VENV"
  fi
  say "Installing Python packages into .venv (first run takes about a minute)"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  # Only the dependencies: the project runs from this checkout (PYTHONPATH), as Pulumi runs it.
  "$VENV/bin/python" - "$PROJECT_ROOT/pyproject.toml" "$extras" >"$VENV/requirements.txt" <<'PY'
import sys
import tomllib

with open(sys.argv[1], "rb") as handle:
    project = tomllib.load(handle)["project"]
requirements = list(project["dependencies"])
if sys.argv[2]:
    requirements += project["optional-dependencies"][sys.argv[2]]
print("\n".join(requirements))
PY
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$VENV/requirements.txt"
  link_checkout
  echo "$wanted" >"$stamp"
  compile_package
}

# compile_package: write the bytecode of this checkout's package into its __pycache__ folders
# (ignored by git) whenever a module changed. With PYTHONDONTWRITEBYTECODE set, Python would
# otherwise compile every module from source on every run (pip compiled the venv's packages
# at install). Stale or missing bytecode only costs time: Python checks each file's mtime.
compile_package() {
  local stamp="$VENV/.relaymd-bytecode"
  if [[ -f "$stamp" ]] &&
     [[ -z "$(find "$PROJECT_ROOT/infra" -name '*.py' -newer "$stamp" -print -quit)" ]]; then
    return 0
  fi
  # Stamp the start, so a module edited while compiling is compiled again next time.
  touch "$stamp.new"
  if "$VENV/bin/python" -m compileall -q "$PROJECT_ROOT/infra" >/dev/null; then
    mv "$stamp.new" "$stamp"
  else
    rm -f "$stamp.new"  # e.g. a syntax error: the import reports it
  fi
}

# link_checkout: a .pth file makes this checkout importable by every interpreter of the venv.
# Pulumi starts the Infisical secrets' dynamic-provider host in the program's directory
# (infra/), where `infra` itself is not on sys.path; unpickling the provider imports it.
link_checkout() {
  local site
  site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  [[ "$(cat "$site/relaymd-infra.pth" 2>/dev/null)" == "$PROJECT_ROOT" ]] && return 0
  echo "$PROJECT_ROOT" >"$site/relaymd-infra.pth"
}

# ensure_python_venv PYTHON: Debian ships venv's ensurepip separately (python3-venv), so
# `python3 -m venv` fails on a fresh machine until that package is installed.
ensure_python_venv() {
  "$1" -c 'import ensurepip, venv' >/dev/null 2>&1 && return 0
  install_apt python3-venv
}

# ensure_apt COMMAND PACKAGE [COMMAND PACKAGE ...]: install PACKAGE when COMMAND is missing.
ensure_apt() {
  local missing=()
  while (($# >= 2)); do
    command -v "$1" >/dev/null 2>&1 || missing+=("$2")
    shift 2
  done
  ((${#missing[@]} == 0)) && return 0
  install_apt "${missing[@]}"
}

# install_apt PACKAGE...: install Debian packages (as root), or say how to.
install_apt() {
  local missing=("$@")
  if [[ "$(id -u)" != 0 ]]; then
    echo "error: missing Debian packages: ${missing[*]}; install them as root:" >&2
    echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
    return 1
  fi
  say "Installing Debian packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
